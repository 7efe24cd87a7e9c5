"""The runbook wizard: navigation only. Each step's rows are saved to the models on submit."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from formtools.wizard.views import NamedUrlWizardView

from . import forms, runbook, selectors
from .access import READ, WORK, membership_required
from .services import checklist


class RunbookWizard(LoginRequiredMixin, NamedUrlWizardView):
    storage_name = "migration.wizard_storage.DatabaseStorage"
    form_list = [(step.slug, forms.ChecklistFormSet) for step in runbook.STEPS]
    template_name = "migration/step.html"

    def dispatch(self, request, *args, **kwargs):
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
        # The URL names the step being saved. The shared storage's current step
        # may be a colleague's, so take it from the URL, not from the storage.
        if kwargs.get("step") in self.get_form_list():
            self.storage.current_step = kwargs["step"]
        return super().post(*args, **kwargs)

    def get_prefix(self, request, *args, **kwargs):
        # formtools keys storage by class name: scope it per migration.
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
        }

    def process_step(self, form):
        step = self._step()
        if self._locked(step):
            raise PermissionDenied("This step is locked until a project manager signs off step 2.")
        changed = checklist.step_save(
            migration=self.migration, step=step.number, actor=self.request.user, rows=form.rows()
        )
        messages.success(self.request, f"Step {step.number} saved ({changed} item(s) changed).")
        return None  # state lives in the models; storing the POST would show stale rows later

    def render_done(self, form, **kwargs):
        # Steps are saved as they are submitted: there is nothing to re-validate.
        return redirect("migration_detail", migration_id=self.migration.id)

    def get_context_data(self, form, **kwargs):
        from .views import step_context

        context = super().get_context_data(form=form, **kwargs)
        context.update(step_context(self.request, self.membership, self._step(), self.progress))
        return context
