"""A step page is drawn from one moment of the database, even when a worker commits mid-page."""

import re
import threading

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from migration import runbook, selectors
from migration.models import ChecklistItem, Note

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = "Order verified: 285 match."


def _commit_in_another_connection(item: ChecklistItem, author) -> None:
    """What a worker does: tick a row and say why, in one commit, from its own connection."""

    def commit():
        try:
            with transaction.atomic():
                ChecklistItem.objects.filter(id=item.id).update(done=True, done_at=timezone.now())
                Note.objects.create(migration=item.migration, step=item.step, author=author, text=NOTE)
        finally:
            connection.close()

    worker = threading.Thread(target=commit)
    worker.start()
    worker.join()


def _row_done(page: str, item: ChecklistItem) -> bool:
    row = re.search(rf'<fieldset[^>]*id="item-{item.key}".*?</fieldset>', page, re.S)
    assert row, f"the page has no row for {item.key}"
    return "badge state-done" in row.group(0)


def test_a_commit_landing_while_a_step_page_is_drawn_shows_on_the_next_page_whole(
    client_for, migration, consultant, monkeypatch
):
    # Between the page's read of its checklist and its later reads, a worker ticks a row and adds
    # a note in one commit. Drawn from two moments, the page would show the note beside a row not
    # done, and the live redraw (which compares states) would never correct the row.
    item = migration.items.filter(step=1).order_by("position").first()
    url = reverse("runbook", kwargs={"migration_id": migration.id, "step": runbook.STEPS_BY_NUMBER[1].slug})
    read_checklist = selectors.step_items

    def checklist_then_a_commit(m, step):
        items = read_checklist(m, step)
        _commit_in_another_connection(item, consultant)
        return items

    monkeypatch.setattr(selectors, "step_items", checklist_then_a_commit)
    client = client_for("consultant")
    drawn_meanwhile = client.get(url).content.decode()
    assert not _row_done(drawn_meanwhile, item)
    assert NOTE not in drawn_meanwhile  # the same moment as its checklist: before the commit

    monkeypatch.setattr(selectors, "step_items", read_checklist)
    drawn_after = client.get(url).content.decode()
    assert _row_done(drawn_after, item) and NOTE in drawn_after
