"""A step page's actions beside its checklist: notes, evidence, sign-off, the step panels' forms."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from .. import forms, runbook
from ..access import MANAGE, READ, WORK, membership_required
from ..models import Evidence, InitializationSettings
from ..services import checklist, notes
from ..services.settings import init_settings_update
from ..upload_limits import receives_uploads, upload_refusal_message
from .common import back_to_step


def _step_or_404(slug: str) -> runbook.Step:
    try:
        return runbook.STEPS_BY_SLUG[slug]
    except KeyError:
        raise Http404("No such step") from None


@require_POST
@login_required
def note_add(request: HttpRequest, migration_id: int, step: str) -> HttpResponse:
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
    return back_to_step(migration_id, step_obj.number, "#notes-title")


@receives_uploads
@require_POST
@login_required
def evidence_add(request: HttpRequest, migration_id: int, step: str) -> HttpResponse:
    membership = membership_required(request, migration_id, WORK)
    step_obj = _step_or_404(step)
    form = forms.EvidenceForm(request.POST, request.FILES)
    if refused := upload_refusal_message(request, advice="Attach a smaller file or a link."):
        messages.error(request, "Evidence not added: " + refused)
    elif form.is_valid():
        try:
            notes.evidence_add(
                migration=membership.migration,
                step=step_obj.number,
                actor=request.user,
                title=form.cleaned_data["title"],
                url=form.cleaned_data["url"],
                upload=form.cleaned_data["file"],
            )
            messages.success(request, "Evidence added.")
        except notes.EvidenceError as error:
            messages.error(request, f"Evidence not added: {error}")
    else:
        errors = [e for errs in form.errors.values() for e in errs]
        messages.error(request, "Evidence not added: " + " ".join(errors))
    return back_to_step(migration_id, step_obj.number, "#evidence-title")


@login_required
def evidence_download(request: HttpRequest, migration_id: int, evidence_id: int) -> HttpResponse:
    membership_required(request, migration_id, READ)
    evidence = get_object_or_404(Evidence, id=evidence_id, migration_id=migration_id)
    if not evidence.file:
        raise Http404("This evidence is a link, not a file")
    name = evidence.file.name.rsplit("/", 1)[-1]
    return FileResponse(evidence.file.open("rb"), as_attachment=True, filename=name)


@require_POST
@login_required
def step_signoff(request: HttpRequest, migration_id: int, step: str) -> HttpResponse:
    membership = membership_required(request, migration_id, MANAGE)
    step_obj = _step_or_404(step)
    try:
        checklist.step_sign_off(migration=membership.migration, step=step_obj.number, actor=request.user)
        messages.success(request, f"Step {step_obj.number} signed off.")
    except checklist.ChecklistError as error:
        messages.error(request, str(error))
    return back_to_step(migration_id, step_obj.number)


@require_POST
@login_required
def step_open_early(request: HttpRequest, migration_id: int, step: str) -> HttpResponse:
    membership = membership_required(request, migration_id, MANAGE)
    step_obj = _step_or_404(step)
    try:
        checklist.step_open_early(
            migration=membership.migration,
            step=step_obj.number,
            actor=request.user,
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, f"Step {step_obj.number} opened; the reason is in the activity log.")
    except checklist.ChecklistError as error:
        messages.error(request, str(error))
    return back_to_step(migration_id, step_obj.number)


@require_POST
@login_required
def uninstall_confirm(request: HttpRequest, migration_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, WORK)
    form = forms.UninstallConfirmForm(request.POST)
    if form.is_valid():
        try:
            checklist.uninstall_confirm(
                migration=membership.migration, actor=request.user, typed_name=form.cleaned_data["typed_name"]
            )
            messages.success(request, "Uninstall of Prospect to cash recorded.")
        except checklist.ChecklistError as error:
            messages.error(request, str(error))
    return back_to_step(migration_id, runbook.UNINSTALL_STEP)


@require_POST
@login_required
def duplicate_rule_add(request: HttpRequest, migration_id: int) -> HttpResponse:
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
    return back_to_step(migration_id, runbook.DUPLICATES_STEP)


@login_required
def init_settings(request: HttpRequest, migration_id: int) -> HttpResponse:
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
        return back_to_step(migration_id, runbook.INITIALIZE_STEP)
    context = {
        "migration": membership.migration,
        "membership": membership,
        "step": runbook.STEPS_BY_NUMBER[runbook.INITIALIZE_STEP],
        "settings_form": form,
    }
    return render(request, "migration/init_settings.html", context)
