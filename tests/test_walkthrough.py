"""Rough edges found walking the runbook in a browser (issue 9): forms, members, the job page."""

import re

from django.urls import reverse

from migration.models import JobState
from migration.services import job_worker, jobs

from .helpers import SETTINGS, migration_url, upload_inspected


def test_it_asks_to_confirm_an_order_type_that_does_not_sync(client_for, migration):
    url = migration_url("init_settings", migration)
    client = client_for("consultant")
    page = client.post(url, {**SETTINGS, "order_type": "Service-Maintenance Based"}).content.decode()
    assert "every order and quote stays out of step 9&#x27;s initial sync" in page
    migration.init_settings.refresh_from_db()
    assert migration.init_settings.order_type == "Item based"
    client.post(url, {**SETTINGS, "order_type": "Service-Maintenance Based", "order_type_confirmed": "on"})
    migration.init_settings.refresh_from_db()
    assert migration.init_settings.order_type == "Service-Maintenance Based"
    step8 = client.get(migration_url("runbook", migration, step="initialize")).content.decode()
    assert 'id="order-type-warning"' in step8 and "no order and no quote reaches" in step8


def test_it_keeps_the_company_rules_halves_together(client_for, migration):
    page = client_for("consultant").get(migration_url("init_settings", migration)).content.decode()
    names = re.findall(r'<label for="id_([a-z_]+)"', page)
    at = names.index("company_rule_column")
    assert names[at - 1 : at + 2] == ["company", "company_rule_column", "company_rule_text"]
    assert names.index("order_type_confirmed") == names.index("order_type") + 1


def test_it_marks_required_fields_and_names_each_legal_entitys_fields(client_for):
    page = client_for("manager").get(reverse("migration_create")).content.decode()
    star = r' <span class="required" aria-hidden="true">\*</span>'
    assert re.search(r'<label for="id_name">Name</label>' + star, page)
    assert not re.search(r'<label for="id_go_live">[^<]*</label> <span class="required"', page)
    labels = [t.strip() for t in re.findall(r'<label for="id_entities-\d-(?:code|name)">([^<]*)', page)]
    assert labels == [
        "Company code of legal entity 1",
        "Name of legal entity 1",
        "Company code of legal entity 2",
        "Name of legal entity 2",
        "Company code of legal entity 3",
        "Name of legal entity 3",
    ]
    assert len(labels) == len(set(labels))
    first = re.search(r'<input[^>]*id="id_entities-0-code"[^>]*>', page)[0]
    second = re.search(r'<input[^>]*id="id_entities-1-code"[^>]*>', page)[0]
    assert " required" in first and " required" not in second


def test_it_links_an_administrator_to_create_a_missing_user_and_back(client_for, migration, manager):
    client = client_for("manager")
    url = migration_url("members", migration)
    page = client.post(url, {"username": "nina", "role": "consultant"}).content.decode()
    assert "No active user is called “nina”" in page and 'id="create-user"' not in page

    manager.is_staff = True
    manager.is_superuser = True
    manager.save()
    page = client.post(url, {"username": "nina", "role": "consultant"}).content.decode()
    link = re.search(r'<p id="create-user"><a href="([^"]+)"', page)[1].replace("&amp;", "&")
    assert link.startswith(reverse("admin:auth_user_add")) and "username=nina" in link
    response = client.post(
        link,
        {"username": "nina", "usable_password": "true", "password1": "A-long-pass-77x",
         "password2": "A-long-pass-77x"},
    )  # fmt: skip
    assert response.status_code == 302 and response.url == f"{url}?username=nina"
    assert 'value="nina"' in client.get(response.url).content.decode()


def test_it_refuses_to_send_the_administrator_elsewhere(client_for, manager):
    manager.is_staff = manager.is_superuser = True
    manager.save()
    add = reverse("admin:auth_user_add") + "?next=https://evil.example/"
    response = client_for("manager").post(
        add, {"username": "nina", "usable_password": "true", "password1": "A-long-pass-77x",
              "password2": "A-long-pass-77x"},
    )  # fmt: skip
    assert response.status_code == 302 and response.url.startswith("/admin/auth/user/")


def test_it_shows_a_jobs_settings_in_words_times_with_zone_and_what_a_row_counts(
    client_for, migration, consultant
):
    upload_inspected(migration, consultant, "account.csv")
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    page = client_for("viewer").get(migration_url("job_detail", migration, job_id=job.id)).content.decode()
    assert "company=USMF" not in page and "customer_group=" not in page
    assert "<dt>Company</dt><dd>USMF</dd>" in page
    assert "<dt>Date order</dt><dd>Detect from the file</dd>" in page
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", page)
    assert "“Row” counts the data rows under the header" in page and "row 48 is Excel's row 49" in page


# --- saves that never undo what happened since the page was loaded --------------------------


def _loaded_form(client, migration, slug: str) -> dict:
    """The step form's fields as the page rendered them (what a browser would post back)."""
    return _from_html(client.get(migration_url("runbook", migration, step=slug)).content.decode())


def test_it_saves_only_what_the_user_changed(client_for, migration, manager):
    from migration.services import checklist

    client = client_for("consultant")
    data = _loaded_form(client, migration, "exports")
    account = migration.items.get(key="export-account")
    # Meanwhile an upload ticks the account row.
    checklist.item_update(item=account, actor=manager, details={"status": "exported", "row_count": 300})
    data["exports-8-status"] = "not_used"
    data["exports-8-reason"] = "No products in Sales"
    response = client.post(migration_url("runbook", migration, step="exports"), data)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.done and account.details["row_count"] == 300
    products = migration.items.get(key="export-products")
    assert products.done and products.details["reason"] == "No products in Sales"


def test_it_shows_a_conflict_when_the_same_field_changed_meanwhile(client_for, migration, manager):
    from migration.services import checklist

    client = client_for("consultant")
    data = _loaded_form(client, migration, "exports")
    account = migration.items.get(key="export-account")
    checklist.item_update(item=account, actor=manager, details={"status": "not_used", "reason": "Theirs"})
    data["exports-0-status"] = "not_used"
    data["exports-0-reason"] = "Mine"
    url = migration_url("runbook", migration, step="exports")
    page = client.post(url, data).content.decode()
    assert "mia-manager changed this to “Theirs” since you opened the page" in page
    assert 'value="Mine"' in page  # typed text is kept
    account.refresh_from_db()
    assert account.details["reason"] == "Theirs"
    # Saving again (the conflict seen) replaces theirs.
    again = _from_html(page)
    assert client.post(url, again).status_code == 302
    account.refresh_from_db()
    assert account.details["reason"] == "Mine"


def _from_html(page: str) -> dict:
    data = {}
    form = page[page.index('<form method="post" class="checklist"') :]
    form = form[: form.index("</form>")]
    for tag in re.findall(r"<(?:input|select|textarea)[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind[1] == "checkbox":
            if " checked" in tag:
                data[name[1]] = "on"
        elif tag.startswith("<select"):
            options = form[form.index(tag) :]
            options = options[: options.index("</select>")]
            chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options)
            data[name[1]] = chosen[1] if chosen else ""
        else:
            data[name[1]] = (value[1] if value else "").replace("&quot;", '"')
    return data


def test_it_says_what_the_next_step_waits_for_instead_of_opening_it(client_for, migration):
    client = client_for("consultant")
    url = migration_url("runbook", migration, step="exports")
    page = client.get(url).content.decode()
    assert "Save and continue" not in page
    assert "Step 3 waits for a project manager (mia-manager) to sign off step 2" in page
    response = client.post(url, _loaded_form(client, migration, "exports"), follow=True)
    assert response.redirect_chain[-1][0] == url + "#checklist"  # back where the Save button is
    assert "Step 3 waits for a project manager (mia-manager)" in response.content.decode()


def test_it_binds_rows_to_their_items_when_a_row_was_added_meanwhile(client_for, migration, manager):
    from migration.services import checklist

    client = client_for("consultant")
    data = _loaded_form(client, migration, "duplicate-detection")
    checklist.duplicate_rule_record(migration=migration, actor=manager, name="Same email", table="Contact")
    data["duplicate-detection-0-ticked"] = "on"  # the page's only row: all rules disabled
    url = migration_url("runbook", migration, step="duplicate-detection")
    assert client.post(url, data).status_code == 302
    assert migration.items.get(key="dup-all-disabled").done
    assert not migration.items.get(key="dup-rule-1").done
