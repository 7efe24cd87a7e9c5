"""The checklist's inputs and labels drawn in Python (migration/form_rendering.py) are Django's HTML,
byte for byte: on every kind of checklist row, editable or not, with errors, with text to escape,
and on whole step pages."""

import re

import pytest
from django.forms.renderers import DjangoTemplates
from django.urls import reverse

from migration import item_kinds, runbook
from migration.form_rendering import INPUTS_IN_PYTHON
from migration.forms import ChecklistRowForm
from migration.models import ChecklistItem

from .helpers import upload_inspected

TEMPLATES = DjangoTemplates()
AWKWARD = "<b>\"Tom\" & 'Jerry'</b>"


def drawn(form) -> list[str]:
    """Every field of the row as a page draws it: the widget, its label, its errors."""
    return [
        part
        for field in form
        for part in (str(field), field.label_tag(), str(field.errors), field.legend_tag())
    ]


def row(kind: str, *, data=None, editable=True, renderer=None) -> ChecklistRowForm:
    item = ChecklistItem(
        id=7, kind=kind, title=AWKWARD, details={"label": AWKWARD, "reason": AWKWARD}, blocker=AWKWARD
    )
    return ChecklistRowForm(data, prefix="step-0", item=item, editable=editable, renderer=renderer)


@pytest.mark.parametrize("kind", sorted(item_kinds.KINDS))
@pytest.mark.parametrize("editable", [True, False])
def test_it_draws_every_checklist_row_as_djangos_templates_do(kind, editable):
    fast = row(kind, editable=editable)
    assert fast.renderer is INPUTS_IN_PYTHON
    assert drawn(fast) == drawn(row(kind, editable=editable, renderer=TEMPLATES))


@pytest.mark.parametrize("kind", sorted(item_kinds.KINDS))
def test_it_draws_a_posted_row_with_errors_as_djangos_templates_do(kind):
    data = {"step-0-due_on": "not a date", "step-0-blocker": "x" * 301, "step-0-ticked": "on"}
    fast, slow = row(kind, data=data), row(kind, data=data, renderer=TEMPLATES)
    assert not fast.is_valid() and not slow.is_valid()
    assert drawn(fast) == drawn(slow)


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.mark.parametrize("slug", [step.slug for step in runbook.STEPS])
def test_it_draws_whole_step_pages_as_djangos_templates_do(
    slug, client_for, migration, consultant, monkeypatch
):
    upload_inspected(migration, consultant, "account.csv")
    client = client_for("consultant")
    url = reverse("runbook", kwargs={"migration_id": migration.id, "step": slug})
    fast = client.get(url)
    monkeypatch.setattr(ChecklistRowForm, "default_renderer", TEMPLATES)
    slow = client.get(url)
    assert fast.status_code == slow.status_code == 200
    assert CSRF.sub("", fast.content.decode()) == CSRF.sub("", slow.content.decode())
