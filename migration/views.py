"""Thin views: check access, validate a form, call one service, redirect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from . import forms, runbook, selectors
from .access import MANAGE, READ, WORK, membership_required
from .models import Evidence, InitializationSettings, LegalEntity, Membership
from .services import checklist, migrations, notes
from .services.settings import init_settings_update
from .upload_limits import too_large_message, with_size_limit
from .wizard import step_context

SORT_CHOICES = [
    ("golive", "Go-live"),
    ("name", "Name"),
    ("step", "Current step"),
    ("percent", "Percent complete"),
    ("blocked", "Blocked or overdue"),
    ("activity", "Last activity"),
]


@login_required
def dashboard(request):
    sort = request.GET.get("sort", "golive")
    descending = request.GET.get("dir") == "desc"
    rows = selectors.dashboard_rows(request.user, sort=sort, descending=descending)
    return render(
        request,
        "migration/dashboard.html",
        {"rows": rows, "sort": sort, "descending": descending, "sort_choices": SORT_CHOICES},
    )


@login_required
def migration_create(request):
    form = forms.MigrationForm(request.POST or None)
    entities = forms.LegalEntityFormSet(request.POST or None, prefix="entities")
    if request.method == "POST" and form.is_valid() and entities.is_valid():
        legal_entities = [
            migrations.LegalEntityData(code=f.cleaned_data["code"], name=f.cleaned_data["name"])
            for f in entities.forms
            if f.cleaned_data
        ]
        migration = migrations.migration_create(
            creator=request.user, legal_entities=legal_entities, **form.cleaned_data
        )
        messages.success(request, f"Migration {migration.name} created. You are its project manager.")
        return redirect("migration_detail", migration_id=migration.id)
    return render(request, "migration/migration_form.html", {"form": form, "entities": entities})


@login_required
def migration_detail(request, migration_id: int):
    membership = membership_required(request, migration_id, READ)
    progress = selectors.progress_get(membership.migration)
    activities = membership.migration.activities.select_related("actor")[:10]
    return render(
        request,
        "migration/migration_detail.html",
        {
            "migration": membership.migration,
            "membership": membership,
            "progress": progress,
            "activities": activities,
        },
    )


@login_required
def migration_progress_json(request, migration_id: int):
    membership = membership_required(request, migration_id, READ)
    progress = selectors.progress_get(membership.migration)
    current = progress.current_step
    return JsonResponse(
        {
            "migration": membership.migration.name,
            "percent_complete": progress.percent,
            "current_step": current.step.number if current else None,
            "blocked": progress.blocked,
            "overdue": progress.overdue,
            "last_activity": progress.last_activity.isoformat() if progress.last_activity else None,
            "steps": [
                {
                    "number": s.step.number,
                    "title": s.step.title,
                    "state": s.state,
                    "done": s.done,
                    "total": s.total,
                }
                for s in progress.steps
            ],
        }
    )


@login_required
def migration_settings(request, migration_id: int):
    membership = membership_required(request, migration_id, MANAGE)
    migration = membership.migration
    form = forms.MigrationForm(request.POST or None, instance=migration)
    if request.method == "POST" and form.is_valid():
        # The form filled the instance already; reload so the service sees what changed.
        migration.refresh_from_db()
        changed = migrations.migration_update(migration=migration, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Saved ({len(changed)} change(s)).")
        return redirect("migration_settings", migration_id=migration.id)
    context = {
        "migration": migration,
        "membership": membership,
        "form": form,
        # Its own ids: the migration form above already has an id_name.
        "entity_form": forms.LegalEntityAddForm(migration=migration, auto_id="id_entity_%s"),
    }
    return render(request, "migration/migration_settings.html", context)


@require_POST
@login_required
def legal_entity_add(request, migration_id: int):
    membership = membership_required(request, migration_id, MANAGE)
    form = forms.LegalEntityAddForm(request.POST, migration=membership.migration)
    if form.is_valid():
        migrations.legal_entity_add(migration=membership.migration, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Added legal entity {form.cleaned_data['code']}.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("migration_settings", migration_id=migration_id)


@require_POST
@login_required
def legal_entity_remove(request, migration_id: int, entity_id: int):
    membership_required(request, migration_id, MANAGE)
    entity = get_object_or_404(LegalEntity, id=entity_id, migration_id=migration_id)
    try:
        migrations.legal_entity_remove(entity=entity, actor=request.user)
        messages.success(request, f"Removed legal entity {entity.code}.")
    except migrations.MembershipError as error:
        messages.error(request, str(error))
    return redirect("migration_settings", migration_id=migration_id)


@login_required
def members(request, migration_id: int):
    membership = membership_required(request, migration_id, READ)
    form = forms.MemberAddForm(request.POST or None)
    if request.method == "POST":
        membership_required(request, migration_id, MANAGE)
        if form.is_valid():
            try:
                migrations.member_add(
                    migration=membership.migration,
                    actor=request.user,
                    user=form.cleaned_data["username"],
                    role=form.cleaned_data["role"],
                )
                messages.success(request, f"Added {form.cleaned_data['username'].username}.")
                return redirect("members", migration_id=migration_id)
            except migrations.MembershipError as error:
                form.add_error("username", str(error))
    memberships = membership.migration.memberships.select_related("user")
    context = {
        "migration": membership.migration,
        "membership": membership,
        "memberships": memberships,
        "form": form,
    }
    return render(request, "migration/members.html", context)


@require_POST
@login_required
def member_change(request, migration_id: int, member_id: int):
    membership_required(request, migration_id, MANAGE)
    target = get_object_or_404(Membership, id=member_id, migration_id=migration_id)
    try:
        if "remove" in request.POST:
            migrations.member_remove(membership=target, actor=request.user)
            messages.success(request, f"Removed {target.user.username}.")
        else:
            form = forms.MemberRoleForm(request.POST)
            if form.is_valid():
                migrations.member_change_role(
                    membership=target, actor=request.user, role=form.cleaned_data["role"]
                )
                messages.success(
                    request, f"{target.user.username} is now {target.get_role_display().lower()}."
                )
    except migrations.MembershipError as error:
        messages.error(request, str(error))
    return redirect("members", migration_id=migration_id)


@login_required
def activity_log(request, migration_id: int):
    membership = membership_required(request, migration_id, READ)
    activities = membership.migration.activities.select_related("actor")
    step = request.GET.get("step")
    if step and step.isdigit():
        activities = activities.filter(step=int(step))
    return render(
        request,
        "migration/activity.html",
        {"migration": membership.migration, "membership": membership, "activities": activities[:500]},
    )


# --- step page helpers and actions -----------------------------------------------


def _step_or_404(slug: str) -> runbook.Step:
    try:
        return runbook.STEPS_BY_SLUG[slug]
    except KeyError:
        raise Http404("No such step") from None


def _back_to_step(migration_id: int, step: runbook.Step):
    return redirect(reverse("runbook", kwargs={"migration_id": migration_id, "step": step.slug}))


@require_POST
@login_required
def note_add(request, migration_id: int, step: str):
    membership = membership_required(request, migration_id, WORK)
    step_obj = _step_or_404(step)
    form = forms.NoteForm(request.POST)
    if form.is_valid():
        notes.note_add(
            migration=membership.migration,
            step=step_obj.number,
            author=request.user,
            text=form.cleaned_data["text"],
        )
        messages.success(request, "Note added.")
    else:
        messages.error(request, "Write the note before adding it.")
    return _back_to_step(migration_id, step_obj)


@with_size_limit
@require_POST
@login_required
def evidence_add(request, migration_id: int, step: str):
    membership = membership_required(request, migration_id, WORK)
    step_obj = _step_or_404(step)
    form = forms.EvidenceForm(request.POST, request.FILES)
    if too_large := too_large_message(request, advice="Attach a smaller file or a link."):
        messages.error(request, "Evidence not added: " + too_large)
    elif form.is_valid():
        notes.evidence_add(
            migration=membership.migration,
            step=step_obj.number,
            actor=request.user,
            title=form.cleaned_data["title"],
            url=form.cleaned_data["url"],
            upload=form.cleaned_data["file"],
        )
        messages.success(request, "Evidence added.")
    else:
        errors = [e for errs in form.errors.values() for e in errs]
        messages.error(request, "Evidence not added: " + " ".join(errors))
    return _back_to_step(migration_id, step_obj)


@login_required
def evidence_download(request, migration_id: int, evidence_id: int):
    membership_required(request, migration_id, READ)
    evidence = get_object_or_404(Evidence, id=evidence_id, migration_id=migration_id)
    if not evidence.file:
        raise Http404("This evidence is a link, not a file")
    name = evidence.file.name.rsplit("/", 1)[-1]
    return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=name)


@require_POST
@login_required
def step_signoff(request, migration_id: int, step: str):
    membership = membership_required(request, migration_id, MANAGE)
    step_obj = _step_or_404(step)
    try:
        checklist.step_sign_off(migration=membership.migration, step=step_obj.number, actor=request.user)
        messages.success(request, f"Step {step_obj.number} signed off.")
    except checklist.ChecklistError as error:
        messages.error(request, str(error))
    return _back_to_step(migration_id, step_obj)


@require_POST
@login_required
def uninstall_confirm(request, migration_id: int):
    membership = membership_required(request, migration_id, WORK)
    step_obj = runbook.STEPS_BY_NUMBER[runbook.UNINSTALL_STEP]
    form = forms.UninstallConfirmForm(request.POST)
    if form.is_valid():
        try:
            checklist.uninstall_confirm(
                migration=membership.migration, actor=request.user, typed_name=form.cleaned_data["typed_name"]
            )
            messages.success(request, "Uninstall of Prospect to cash recorded.")
        except checklist.ChecklistError as error:
            messages.error(request, str(error))
    return _back_to_step(migration_id, step_obj)


@require_POST
@login_required
def duplicate_rule_add(request, migration_id: int):
    membership = membership_required(request, migration_id, WORK)
    form = forms.DuplicateRuleForm(request.POST)
    if form.is_valid():
        checklist.duplicate_rule_record(
            migration=membership.migration, actor=request.user, **form.cleaned_data
        )
        messages.success(
            request, f"Recorded rule “{form.cleaned_data['name']}”; step 9 lists it to re-enable."
        )
    else:
        messages.error(request, "Give the rule's name and its table.")
    return _back_to_step(migration_id, runbook.STEPS_BY_NUMBER[runbook.DUPLICATES_STEP])


@login_required
def init_settings(request, migration_id: int):
    membership = membership_required(request, migration_id, WORK if request.method == "POST" else READ)
    instance = InitializationSettings.objects.get(migration=membership.migration)
    form = forms.InitSettingsForm(request.POST or None, instance=instance)
    if not membership.can_work:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        instance.refresh_from_db()
        changed = init_settings_update(init_settings=instance, actor=request.user, values=form.values())
        messages.success(request, f"Initialization settings saved ({len(changed)} change(s)).")
        return _back_to_step(migration_id, runbook.STEPS_BY_NUMBER[runbook.INITIALIZE_STEP])
    progress = selectors.progress_get(membership.migration)
    context = step_context(membership, runbook.STEPS_BY_NUMBER[runbook.INITIALIZE_STEP], progress)
    context["settings_form"] = form
    return render(request, "migration/init_settings.html", context)
