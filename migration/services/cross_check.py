"""When step 2's cross-file check runs: once every table in use holds inspected parts, once per
set of inputs. Uploads ask after each inspection or removal, the checklist when the tables in use
change; the check itself (`uploads.cross_check_run`) runs in the worker."""

from django.db import transaction

from .. import gate, selectors
from ..models import CrossCheck, Migration, UploadState
from .queue import enqueue_on_commit


def cross_check_queue_if_complete(*, migration: Migration, again: bool = False) -> CrossCheck | None:
    """Once every table in use holds inspected parts, check them together (once per set of inputs).

    Tables marked "not used" are left out; a part that failed keeps its table out of the check
    until it is replaced or removed (the step-2 gate says so). `again`: run it even over the
    inputs of the latest check (a project manager's request, after a setting changed, say).
    """
    if cross_check_waits_for(migration):
        return None
    inputs = gate.cross_check_inputs(migration)
    with transaction.atomic():
        Migration.objects.lock(migration.pk)
        existing = CrossCheck.objects.filter(migration=migration).first()
        if existing and existing.inputs == inputs and (not again or existing.state in CHECKING):
            return existing
        check = CrossCheck.objects.create(migration=migration, inputs=inputs)
        enqueue_on_commit("run_cross_check", check.id)
    return check


CHECKING = (UploadState.QUEUED, UploadState.INSPECTING)


def cross_check_waits_for(migration: Migration) -> list[str]:
    """Why the cross-file check cannot run now, one text per table; empty when it can."""
    return gate.cross_check_waits(selectors.export_parts(migration), selectors.tables_in_use(migration))
