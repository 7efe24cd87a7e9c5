"""Step 8's write-back pages: plan (consultants and project managers), approve, undo (project
managers), re-plan conflicts, the plan's page with its live progress, and its files."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ..access import MANAGE, READ, WORK, membership_required
from ..dynamics.tokens import TokenError
from ..dynamics.webapi import ApiError, CannotConnect
from ..models import JobState, WritePlan, WriteState
from . import writeback
from .secrets import SecretsKeyMissing


def _plan(membership, plan_id: int) -> WritePlan:
    return get_object_or_404(
        WritePlan.objects.select_related("connection"), pk=plan_id, migration=membership.migration
    )


def _to_plan(plan: WritePlan) -> HttpResponse:
    return redirect("writeback_detail", migration_id=plan.migration_id, plan_id=plan.pk)


@login_required
@require_POST
def writeback_plan(request: HttpRequest, migration_id: int) -> HttpResponse:
    """Plan writing a succeeded job's new values back to Sales."""
    membership = membership_required(request, migration_id, WORK)
    job = get_object_or_404(
        membership.migration.jobs, pk=request.POST.get("job") or 0, state=JobState.SUCCEEDED
    )
    try:
        plan = writeback.plan_start(job=job, actor=request.user)
    except (writeback.WritebackError, SecretsKeyMissing) as error:
        messages.error(request, str(error))
        return redirect("runbook", migration_id=migration_id, step="initialize")
    messages.success(
        request, f"Planning the write-back of {plan.table}: Sales is read, nothing is written yet."
    )
    return _to_plan(plan)


@login_required
def writeback_detail(request: HttpRequest, migration_id: int, plan_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, READ)
    plan = _plan(membership, plan_id)
    context = {
        "migration": membership.migration,
        "membership": membership,
        "plan": plan,
        "outcomes": [(o, plan.counts.get("outcomes", {}).get(o, 0)) for o in writeback.wb.OUTCOMES],
        "host": writeback.environment_host(plan) if plan.connection else "",
        "first_rows": writeback.first_rows(plan) if plan.state != WriteState.PLANNING else {},
        "files": writeback.plan_files(plan),
        "progress": writeback.apply_progress(plan),
        "running": plan.state in (WriteState.PLANNING, WriteState.APPLYING),
        "conflicts": plan.counts.get("outcomes", {}).get("conflict", 0) + plan.results.get("conflict", 0),
    }
    return render(request, "migration/connections/writeback.html", context)


@login_required
@require_POST
def writeback_approve(request: HttpRequest, migration_id: int, plan_id: int) -> HttpResponse:
    """A project manager approves: the apply starts in the workers."""
    membership = membership_required(request, migration_id, MANAGE)
    plan = _plan(membership, plan_id)
    try:
        size = int(request.POST.get("batch_size") or plan.batch_size)
        writeback.plan_approve(
            plan=plan, actor=request.user, typed_host=request.POST.get("host", ""),
            maps_stopped=bool(request.POST.get("maps_stopped")), batch_size=size,
            bypass_logic=bool(request.POST.get("bypass_logic")),
            bypass_flows=bool(request.POST.get("bypass_flows")),
        )  # fmt: skip
        messages.success(request, "Approved: the records are being written.")
    except writeback.WritebackError as error:
        messages.error(request, str(error))
    except ValueError:
        messages.error(request, "The batch size is a number of updates, 1 to 1,000.")
    except (ApiError, CannotConnect, TokenError, SecretsKeyMissing) as error:
        messages.error(request, f"The environment could not be asked: {error}")
    return _to_plan(plan)


@login_required
@require_POST
def writeback_undo(request: HttpRequest, migration_id: int, plan_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, MANAGE)
    plan = _plan(membership, plan_id)
    try:
        return _to_plan(writeback.undo_start(plan=plan, actor=request.user))
    except writeback.WritebackError as error:
        messages.error(request, str(error))
        return _to_plan(plan)


@login_required
@require_POST
def writeback_replan(request: HttpRequest, migration_id: int, plan_id: int) -> HttpResponse:
    membership = membership_required(request, migration_id, WORK)
    plan = _plan(membership, plan_id)
    try:
        return _to_plan(writeback.replan_conflicts_start(plan=plan, actor=request.user))
    except writeback.WritebackError as error:
        messages.error(request, str(error))
        return _to_plan(plan)


@login_required
def writeback_file(request: HttpRequest, migration_id: int, plan_id: int, name: str) -> HttpResponse:
    membership = membership_required(request, migration_id, READ)
    plan = _plan(membership, plan_id)
    if name not in writeback.FILES or name not in plan.files:
        raise Http404("No such file for this plan.")
    filename = f"{plan.table}_writeback{plan.pk}_{name}.csv"
    return FileResponse(default_storage.open(plan.files[name], "rb"), as_attachment=True, filename=filename)
