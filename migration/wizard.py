"""The runbook wizard: navigation only. Each step's rows are saved to the models on submit."""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from formtools.wizard.storage.base import BaseStorage
from formtools.wizard.views import NamedUrlWizardView

from . import engine, forms, gate, item_kinds, runbook, selectors, table_routes
from .access import READ, WORK, membership_required
from .models import Membership
from .panel_cache import panel_context
from .services import checklist
from .snapshot import one_snapshot
from .upload_limits import limit_bytes, limit_mb


class RequestStorage(BaseStorage):
    """formtools storage that lives for one request and is never saved.

    Nothing needs keeping between requests: the URL names the step, and each
    submitted step is saved to the models. So two colleagues, or two
    migrations, can never see each other's wizard state.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.init_data()


def step_context(membership: Membership, step: runbook.Step, progress: selectors.MigrationProgress) -> dict:
    """What every step page shows beside its checklist, and what its panel adds."""
    migration = membership.migration
    context = {
        "migration": migration,
        "membership": membership,
        "step": step,
        "opened_by": runbook.STEPS_BY_NUMBER.get(step.opened_by),
        "progress": progress,
        "step_progress": progress.steps[step.number - 1],
        "notes": migration.notes.filter(step=step.number).select_related("author"),
        "evidence": migration.evidence.filter(step=step.number).select_related("added_by"),
        "note_form": forms.NoteForm(),
        "evidence_form": forms.EvidenceForm(),
        # Who signed off and when: read only for a step the progress says is signed off.
        "signoff": (
            migration.signoffs.filter(step=step.number).select_related("signed_by").first()
            if progress.steps[step.number - 1].signed_off
            else None
        ),
        "opening": (
            migration.step_openings.filter(step=step.number).select_related("opened_by").first()
            if step.may_open_early and not progress.steps[step.number - 1].locked
            else None
        ),
    }
    if step.panel and step.panel.context:
        context.update(panel_context(step.panel.context, membership))
    if step.number == runbook.ENABLE_MAPS_STEP:
        # Initial sync of a table whose import did not land syncs wrong or missing values.
        context["unverified_imports"] = selectors.unverified_tables(migration)
    return context


# --- the steps' panels (see runbook.Panel) ----------------------------------------------


def _upload_limit() -> dict:
    return {
        "max_upload_mb": limit_mb(),
        "max_upload_bytes": limit_bytes(),
        "sync_upload_mb": min(settings.P2C_SYNC_UPLOAD_MB, limit_mb()),
    }


def uploads_panel(membership: Membership) -> dict:
    migration = membership.migration
    check = selectors.latest_cross_check(migration)
    slots = selectors.upload_slots(migration)
    signed_off = migration.signoffs.filter(step=2).exists()
    return {
        "slots": slots,
        "cross_check": check,
        **_cross_check_state(check, *gate.slots_parts_in_use(slots)),
        "findings": gate.check_findings(migration, check),
        "row_limits": selectors.row_limits(check),
        "gate_reasons": [] if signed_off else gate.step2_gate(migration, slots, check),
        **_upload_limit(),
    }


def _cross_check_state(check, parts: dict, in_use: list[str]) -> dict:
    current = gate.cross_check_inputs(None, parts, in_use)
    return {
        "cross_check_stale": check is not None and check.inputs != current,
        "cross_check_waits": gate.cross_check_waits(parts, in_use),
    }


def uninstall_panel(membership: Membership) -> dict:
    """Step 3's backup row and uninstall confirmation: the confirmation waits for the backup."""
    items = membership.migration.items.filter(kind__in=(item_kinds.BACKUP, item_kinds.UNINSTALL))
    by_kind = {i.kind: i for i in items.select_related("done_by")}
    backup = by_kind.get(item_kinds.BACKUP)
    recorded = (backup.details.get("label") or backup.details.get("taken_on") or "") if backup else ""
    return {"backup": backup, "backup_recorded": recorded, "uninstall": by_kind.get(item_kinds.UNINSTALL)}


def duplicate_rule_panel(membership: Membership) -> dict:
    return {"rule_form": forms.DuplicateRuleForm()}


def import_route_panel(migration) -> dict:
    max_age = timedelta(hours=settings.P2C_REEXPORT_MAX_AGE_HOURS)
    rows = selectors.import_rows(migration, max_age)
    for row in rows:
        row.reexport.label = f"{row.label} re-export"
        row.verification.label = f"{row.label} verification export"
        row.columns = [runbook.in_article_words(column) for column in row.columns]
    return {
        "import_rows": rows,
        "fresh_until": selectors.import_rows_fresh_until(rows, max_age),  # see panel_cache.py
        "reexport_max_age_hours": settings.P2C_REEXPORT_MAX_AGE_HOURS,
        "import_part_mb": settings.P2C_IMPORT_PART_MB,
        "import_order": [engine.TABLES[key].export_name.lower() for key in engine.IMPORT_ORDER],
        "pack_ready": any(row.job for row in rows),
    }


def jobs_panel(membership: Membership) -> dict:
    migration = membership.migration
    job_rows = selectors.job_rows(migration)
    accounts = selectors.export_parts(migration).get("account", [])
    route = import_route_panel(migration)
    row_limits = [
        r
        for row in job_rows
        if row.latest and row.latest.summary
        for r in selectors.job_row_limits(row.latest)
    ]
    return {
        **route,
        "routes": table_routes.table_routes(
            import_rows=route["import_rows"],
            job_rows=job_rows,
            export_slots=selectors.upload_slots(migration),
            sync_rows=selectors.sync_rows(migration),
        ),
        "job_rows": job_rows,
        "party_slot": selectors.party_numbers_slot(migration),
        "no_job_slots": selectors.tables_without_job(),
        "not_syncing": selectors.accounts_not_syncing(migration, accounts),
        "type_changes": selectors.relationship_type_changes(migration, accounts),
        "row_limits": row_limits,
        "row_limits_over": any(r.over for r in row_limits),
        **_upload_limit(),
    }


def sync_panel(membership: Membership) -> dict:
    migration = membership.migration
    sync_rows = selectors.sync_rows(migration)
    route = import_route_panel(migration)
    routes = table_routes.table_routes(
        import_rows=route["import_rows"],
        job_rows=selectors.job_rows(migration),
        export_slots=selectors.upload_slots(migration),
        sync_rows=sync_rows,
    )
    by_table = {route.table: route for route in routes}
    for row in sync_rows:
        row.route = by_table.get(row.table)
    return {"sync_rows": sync_rows, "fresh_until": route["fresh_until"], **_upload_limit()}


class RunbookWizard(LoginRequiredMixin, NamedUrlWizardView):
    storage_name = "migration.wizard.RequestStorage"
    form_list = [(step.slug, forms.ChecklistFormSet) for step in runbook.STEPS]
    template_name = "migration/step.html"

    def dispatch(self, request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return self._dispatch(request, *args, **kwargs)
        # A page, template included (a TemplateResponse renders after the view returns), drawn
        # from one moment of the database: see snapshot.py.
        with one_snapshot():
            response = self._dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

    def _dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        need = WORK if request.method == "POST" else READ
        self.membership = membership_required(request, kwargs["migration_id"], need)
        self.migration = self.membership.migration
        self.progress = selectors.progress_get(self.migration)
        if kwargs.get("step") is None:
            current = self.progress.current_step or self.progress.steps[-1]
            return redirect(self._url(current.step.slug))
        return super().dispatch(request, *args, **kwargs)

    def post(self, *args, **kwargs):
        # The URL names the step being saved; the storage starts empty on every request.
        if kwargs.get("step") in self.get_form_list():
            self.storage.current_step = kwargs["step"]
        return super().post(*args, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        # The prefix names the management form's fields; scoped per migration so a
        # form posted to another migration's URL is refused as tampered.
        return f"runbook_{kwargs['migration_id']}"

    def _url(self, slug: str) -> str:
        return reverse(self.url_name, kwargs={"migration_id": self.migration.id, "step": slug})

    def get_step_url(self, step):
        return self._url(step)

    def _step(self, slug=None) -> runbook.Step:
        return runbook.STEPS_BY_SLUG[slug or self.steps.current]

    def _locked(self, step: runbook.Step) -> bool:
        return self.progress.steps[step.number - 1].locked

    def get_form_kwargs(self, step=None):
        step_obj = self._step(step)
        return {
            "items": selectors.step_items(self.migration, step_obj.number),
            "editable": self.membership.can_work and not self._locked(step_obj),
            "manager": self.membership.can_manage,
        }

    def process_step(self, form):
        step = self._step()
        if self._locked(step):
            raise PermissionDenied(
                f"This step is locked until a project manager signs off step {step.opened_by}."
            )
        changed = checklist.step_save(
            migration=self.migration, step=step.number, actor=self.request.user, rows=form.rows()
        )
        messages.success(self.request, f"Step {step.number} saved ({changed} item(s) changed).")
        return None  # state lives in the models; storing the POST would show stale rows later

    def render_next_step(self, form, **kwargs):
        # A step that stays locked until a project manager signs off this one: stay here and say
        # who the next step waits for, rather than show a locked page.
        following = self._step(self.steps.next)
        if self._locked(following):
            messages.info(self.request, waiting_for(self.migration, following, self.membership))
            # Back where the user was. (The checklist posts to its URL without the page's fragment,
            # so a redirect without one of its own never lands at an old #slot-... of the page.)
            return redirect(self.get_step_url(self.steps.current) + "#checklist")
        return super().render_next_step(form, **kwargs)

    def render_done(self, form, **kwargs):
        # Steps are saved as they are submitted: there is nothing to re-validate.
        return redirect("migration_detail", migration_id=self.migration.id)

    def get_context_data(self, form, **kwargs):
        context = super().get_context_data(form=form, **kwargs)
        context.update(step_context(self.membership, self._step(), self.progress))
        context["checklist_done"] = sum(1 for row in form if row.item.done and not row.errors)
        if 3 <= self._step().number <= 8:  # the steps the environment check speaks for
            context["environment_check"] = self.migration.environment_checks.order_by("-id").first()
        following = runbook.STEPS_BY_SLUG.get(self.steps.next)
        if following and self._locked(following):
            context["next_waits"] = waiting_for(self.migration, following, self.membership)
        return context


def waiting_for(migration, step: runbook.Step, membership: Membership) -> str:
    """What a locked step waits for, and whom: "Step 3 waits for a project manager (mia) to sign
    off step 2"; said to a project manager as what they can do."""
    if membership.can_manage:
        return (
            f"Step {step.number} opens when you (or another project manager) sign off step "
            f"{step.opened_by} below."
        )
    names = sorted(migration.memberships.filter(role="manager").values_list("user__username", flat=True))
    return (
        f"Step {step.number} waits for a project manager ({', '.join(names)}) to sign off step "
        f"{step.opened_by}: {step.lock_reason}."
    )
