"""The migrations themselves: dashboard, overview, settings, legal entities, members, activity."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import forms, quota, selectors
from ..access import CREATE_MIGRATION, MANAGE, READ, membership_required
from ..models import LegalEntity, Membership
from ..services import migrations

SORT_CHOICES = [
    ("golive", "Go-live"),
    ("name", "Name"),
    ("step", "Current step"),
    ("percent", "Percent complete"),
    ("blocked", "Blocked or overdue"),
    ("activity", "Last activity"),
]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    sort = request.GET.get("sort", "golive")
    descending = request.GET.get("dir") == "desc"
    rows = selectors.dashboard_rows(request.user, sort=sort, descending=descending)
    return render(
        request,
        "migration/dashboard.html",
        {"rows": rows, "sort": sort, "descending": descending, "sort_choices": SORT_CHOICES},
    )


@login_required
@permission_required(CREATE_MIGRATION, raise_exception=True)
def migration_create(request: HttpRequest) -> HttpResponse:
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
def migration_detail(request: HttpRequest, migration_id: int) -> HttpResponse:
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
            "storage_used": quota.storage_used(membership.migration),
            "quota_bytes": quota.quota_bytes(),
            "old_versions": quota.old_versions(membership.migration) if membership.can_manage else None,
        },
    )


@login_required
def migration_progress_json(request: HttpRequest, migration_id: int) -> HttpResponse:
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
def migration_settings(request: HttpRequest, migration_id: int) -> HttpResponse:
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
def legal_entity_add(request: HttpRequest, migration_id: int) -> HttpResponse:
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
def legal_entity_remove(request: HttpRequest, migration_id: int, entity_id: int) -> HttpResponse:
    membership_required(request, migration_id, MANAGE)
    entity = get_object_or_404(LegalEntity, id=entity_id, migration_id=migration_id)
    try:
        migrations.legal_entity_remove(entity=entity, actor=request.user)
        messages.success(request, f"Removed legal entity {entity.code}.")
    except migrations.MembershipError as error:
        messages.error(request, str(error))
    return redirect("migration_settings", migration_id=migration_id)


@login_required
def members(request: HttpRequest, migration_id: int) -> HttpResponse:
    # Only this migration's project managers may look a user name up (the form
    # says whether an account exists); everyone else is refused before it is read.
    membership = membership_required(request, migration_id, MANAGE if request.method == "POST" else READ)
    form = forms.MemberAddForm(request.POST or None, initial={"username": request.GET.get("username", "")})
    if request.method == "POST" and form.is_valid():
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
        "create_user_url": _create_user_url(request, form),
    }
    return render(request, "migration/members.html", context)


def _create_user_url(request: HttpRequest, form: forms.MemberAddForm) -> str:
    """For an administrator, when the user name has no account: the admin's add-user page, which
    comes back here once the user is saved."""
    missing = getattr(form, "missing_username", "")
    if not missing or not request.user.has_perm("auth.add_user"):
        return ""
    query = urlencode({"username": missing, "next": request.path})
    return f"{reverse('admin:auth_user_add')}?{query}"


@require_POST
@login_required
def member_change(request: HttpRequest, migration_id: int, member_id: int) -> HttpResponse:
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
def activity_log(request: HttpRequest, migration_id: int) -> HttpResponse:
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


@login_required
@permission_required(CREATE_MIGRATION, raise_exception=True)
def migration_copy(request: HttpRequest, migration_id: int) -> HttpResponse:
    """Rehearsal, then production: start a new migration from this one's decisions."""
    membership = membership_required(request, migration_id, MANAGE)
    source = membership.migration
    form = forms.MigrationCopyForm(
        request.POST or None, initial={"name": f"{source.name} (production)"}, source=source
    )
    if request.method == "POST" and form.is_valid():
        copy = migrations.migration_copy(source=source, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Created {copy.name} from {source.name}: same legal entities, members, "
                         "settings and duplicate detection rules; no uploads or results.")  # fmt: skip
        return redirect("migration_detail", migration_id=copy.id)
    return render(
        request,
        "migration/migration_copy.html",
        {"migration": source, "membership": membership, "form": form},
    )
