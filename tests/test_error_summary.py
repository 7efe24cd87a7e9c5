"""A save refused by validation says so at the top of the page, with a link to each field in error
(issue 20, item 5): a step's checklist can be thousands of pixels long."""

import re

import pytest
from django.urls import reverse

from .helpers import step_data, step_url

pytestmark = pytest.mark.django_db


def summary(page: str) -> str:
    found = re.search(r'<div class="error-summary" role="alert" id="form-errors".*?</div>', page, re.S)
    assert found, "no error summary"
    return found[0]


def test_a_refused_checklist_lists_each_field_in_error_at_the_top(client_for, migration):
    rows = [{"status": "exported", "row_count": "10"} for _ in range(8)] + [{"status": "not_used"}]
    response = client_for("consultant").post(
        step_url(migration, "exports"), step_data(migration, "exports", rows)
    )
    page = response.content.decode()
    assert response.status_code == 200
    alert = summary(page)
    assert page.index(alert) < page.index("<h2>Checklist</h2>")  # above the checklist, under the title
    assert (
        '<a href="#id_exports-8-reason">Products: Why not used</a>: Say why this table is not used.' in alert
    )
    assert 'id="id_exports-8-reason"' in page  # the link lands on the field


def test_a_refused_settings_form_lists_each_field_in_error_at_the_top(client_for, migration):
    data = {
        "company": "USMF",
        "company_rule_column": "Owning Business Unit",
        "company_rule_text": "UK = GBSI",  # a company this migration does not have
        "customer_group": "10",
        "relationship_type": "Customer",
        "language": "en-us",
        "order_type": "Item based",
        "date_order": "auto",
        "country": "keep",
    }
    response = client_for("consultant").post(
        reverse("init_settings", kwargs={"migration_id": migration.id}), data
    )
    alert = summary(response.content.decode())
    assert re.search(r'<a href="#id_company_rule_text">[^<]+</a>: [^<]*one of this migration', alert), alert


def test_a_page_drawn_without_a_refused_save_has_no_alert(client_for, migration):
    page = client_for("consultant").get(step_url(migration, "exports")).content.decode()
    assert 'id="form-errors"' not in page
