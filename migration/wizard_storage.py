from formtools.wizard.storage.base import BaseStorage

from .models import WizardState


class DatabaseStorage(BaseStorage):
    """formtools storage kept in a WizardState row keyed by the wizard's prefix.

    The prefix carries the migration, so every member, in any browser, shares
    the one wizard state of that migration.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._row, _ = WizardState.objects.get_or_create(prefix=self.prefix)
        self.data = self._row.data
        if not self.data:
            self.init_data()

    def update_response(self, response):
        super().update_response(response)
        # Reading a step (a viewer browsing, say) changes nothing worth a write:
        # the URL names the step, and submitted steps live in the models.
        if self.request.method == "POST" and self.data != self._row.data:
            self._row.data = self.data
            self._row.save(update_fields=["data", "updated_at"])
