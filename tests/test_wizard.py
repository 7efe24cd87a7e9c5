"""The runbook wizard: navigation, shared state, the step 3 gate."""

import pytest
from django.test import Client
from django.urls import reverse

from migration import item_kinds, runbook

pytestmark = pytest.mark.django_db


def step_url(migration, slug):
    return reverse("runbook", kwargs={"migration_id": migration.id, "step": slug})


def step_data(migration, slug, rows):
    """POST data as the step's form sends it: one row of fields per checklist item."""
    data = {
        f"runbook_{migration.id}-current_step": slug,
        f"{slug}-TOTAL_FORMS": str(len(rows)),
        f"{slug}-INITIAL_FORMS": str(len(rows)),
    }
    for index, row in enumerate(rows):
        for field, value in row.items():
            if value is True:
                value = "on"
            if value not in (False, None):
                data[f"{slug}-{index}-{field}"] = value
    return data


def succeeded_runs(count=6):
    return [{"run_on": "2026-11-20", "result": "succeeded"} for _ in range(count)]


def all_exported():
    return [{"status": "exported", "row_count": "120"} for _ in runbook.EXPORT_TABLES]


def test_it_opens_the_runbook_at_the_first_open_step(client_for, migration):
    response = client_for("consultant").get(reverse("runbook_start", kwargs={"migration_id": migration.id}))
    assert response.url == step_url(migration, "last-sync")


def test_it_saves_a_step_and_moves_forward(client_for, migration, consultant):
    client = client_for("consultant")
    response = client.post(
        step_url(migration, "last-sync"), step_data(migration, "last-sync", succeeded_runs())
    )
    assert response.status_code == 302 and response.url == step_url(migration, "exports")
    assert migration.items.filter(step=1, done=True, done_by=consultant).count() == 6
    page = client.get(step_url(migration, "last-sync")).content.decode()
    assert "Done by <strong>carl-consultant</strong>" in page


def test_it_goes_back_without_saving(client_for, migration):
    client = client_for("consultant")
    data = step_data(migration, "exports", all_exported())
    data["wizard_goto_step"] = "last-sync"
    response = client.post(step_url(migration, "exports"), data)
    assert response.url == step_url(migration, "last-sync")
    assert not migration.items.filter(step=2, done=True).exists()


def test_it_can_revisit_any_step(client_for, migration):
    client = client_for("consultant")
    for step in runbook.STEPS:
        response = client.get(step_url(migration, step.slug))
        assert response.status_code == 200
        assert f"Step {step.number}: {step.title}" in response.content.decode()


def test_it_shows_the_nine_steps_with_their_state_on_every_step(client_for, migration):
    client = client_for("consultant")
    client.post(step_url(migration, "last-sync"), step_data(migration, "last-sync", succeeded_runs()))
    page = client.get(step_url(migration, "enable-maps")).content.decode()
    for step in runbook.STEPS:
        assert step.title in page
    assert 'class="badge state-done">Done' in page
    assert ">Locked<" in page  # step 3 until step 2 is signed off


def test_it_explains_what_is_missing_in_a_row(client_for, migration):
    rows = all_exported()
    rows[0] = {"status": "exported", "row_count": ""}
    rows[1] = {"status": "not_used", "reason": ""}
    response = client_for("consultant").post(
        step_url(migration, "exports"), step_data(migration, "exports", rows)
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Give the number of exported rows." in page
    assert "Say why this table is not used." in page
    assert not migration.items.filter(step=2, done=True).exists()


def test_it_keeps_state_for_a_colleague_in_a_new_session(client_for, migration, manager):
    client_for("consultant").post(
        step_url(migration, "last-sync"), step_data(migration, "last-sync", succeeded_runs())
    )
    colleague = Client()
    colleague.force_login(manager)
    page = colleague.get(step_url(migration, "last-sync")).content.decode()
    assert page.count("Done by <strong>carl-consultant</strong>") == 6
    assert 'value="2026-11-20"' in page
    response = colleague.get(reverse("runbook_start", kwargs={"migration_id": migration.id}))
    assert response.url == step_url(migration, "exports")


def test_it_keeps_no_wizard_state_between_requests(client_for, migration):
    client = client_for("consultant")
    client.post(step_url(migration, "last-sync"), step_data(migration, "last-sync", []))
    client.get(step_url(migration, "enable-maps"))
    assert not [key for key, _ in client.session.items() if key.startswith("wizard_")]


def test_it_refuses_a_step_form_posted_to_another_migration(client_for, migration, other_migration):
    client = client_for("outsider")
    response = client.post(step_url(other_migration, "install"), step_data(migration, "install", []))
    assert response.status_code == 400


def test_it_saves_the_step_named_in_the_url_even_after_a_colleague_moved_on(client_for, migration, manager):
    client = client_for("consultant")
    client.get(step_url(migration, "last-sync"))
    colleague = Client()
    colleague.force_login(manager)
    colleague.get(step_url(migration, "enable-maps"))
    response = client.post(
        step_url(migration, "last-sync"), step_data(migration, "last-sync", succeeded_runs())
    )
    assert response.url == step_url(migration, "exports")
    assert migration.items.filter(step=1, done=True).count() == 6


def test_it_finishes_on_the_overview(client_for, migration):
    rows = [{"enabled": True, "sync_result": "succeeded", "error_count": "0"} for _ in runbook.STEP9_MAPS]
    response = client_for("consultant").post(
        step_url(migration, "enable-maps"), step_data(migration, "enable-maps", rows)
    )
    assert response.url == reverse("migration_detail", kwargs={"migration_id": migration.id})
    assert migration.items.filter(step=9, done=True).count() == len(runbook.STEP9_MAPS)


def test_it_locks_step_3_until_the_exports_are_signed_off(client_for, migration):
    client = client_for("manager")
    page = client.get(step_url(migration, "uninstall")).content.decode()
    assert "This step is locked" in page
    assert "Save and continue" not in page
    rows = [{"ticked": True}, {"ticked": True}]
    assert (
        client.post(step_url(migration, "uninstall"), step_data(migration, "uninstall", rows)).status_code
        == 403
    )
    response = client.post(
        reverse("uninstall_confirm", kwargs={"migration_id": migration.id}),
        {"typed_name": "Contoso cutover"},
        follow=True,
    )
    assert "locked until a project manager signs off" in response.content.decode()
    assert not migration.items.get(kind=item_kinds.UNINSTALL).done


def test_it_opens_step_3_after_sign_off_and_warns_about_data_loss(client_for, migration):
    client = client_for("manager")
    client.post(step_url(migration, "exports"), step_data(migration, "exports", all_exported()))
    client.post(reverse("step_signoff", kwargs={"migration_id": migration.id, "step": "exports"}))
    page = client.get(step_url(migration, "uninstall")).content.decode()
    assert "This step is locked" not in page
    assert "deletes every column Prospect to cash added" in page
    client.post(
        reverse("uninstall_confirm", kwargs={"migration_id": migration.id}), {"typed_name": "Contoso cutover"}
    )
    assert migration.items.get(kind=item_kinds.UNINSTALL).done


def test_it_explains_why_sign_off_is_refused(client_for, migration):
    response = client_for("manager").post(
        reverse("step_signoff", kwargs={"migration_id": migration.id, "step": "exports"}), follow=True
    )
    assert "Step 2 still has 9 open item(s)" in response.content.decode()


def test_it_turns_recorded_rules_into_step_9_items(client_for, migration):
    client = client_for("consultant")
    client.post(
        reverse("duplicate_rule_add", kwargs={"migration_id": migration.id}),
        {"name": "Contacts same email", "table": "Contact"},
    )
    page = client.get(step_url(migration, "enable-maps")).content.decode()
    assert "Re-enable rule “Contacts same email” (Contact)" in page


def test_it_saves_initialization_settings_with_a_company_rule(client_for, migration):
    data = {
        "company": "USMF",
        "company_rule_column": "Owning Business Unit",
        "company_rule_text": "US Sales = usmf\nDE Sales = DEMF",
        "customer_group": "20",
        "relationship_type": "Customer",
        "language": "de",
        "order_type": "Item based",
        "date_order": "dmy",
        "country": "iso2",
    }
    client_for("consultant").post(reverse("init_settings", kwargs={"migration_id": migration.id}), data)
    settings = migration.init_settings
    settings.refresh_from_db()
    assert settings.company_rule_map == {"US Sales": "USMF", "DE Sales": "DEMF"}
    assert (settings.language, settings.date_order, settings.country) == ("de", "dmy", "iso2")


def test_it_refuses_a_company_rule_to_an_unknown_company(client_for, migration):
    data = {
        "company": "USMF",
        "company_rule_column": "Owning Business Unit",
        "company_rule_text": "UK = GBSI",
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
    assert "one of this migration&#x27;s companies (DEMF, USMF)" in response.content.decode()


@pytest.mark.parametrize(
    ("slug", "shown"),
    [
        ("exports", "Upload the exports"),
        ("duplicate-detection", "Record an active duplicate detection rule"),
        ("initialize", "Transformation jobs"),
    ],
)
def test_it_shows_each_step_its_own_panel(client_for, migration, slug, shown):
    page = client_for("consultant").get(step_url(migration, slug)).content.decode()
    assert shown in page
    others = {"Upload the exports", "Record an active duplicate detection rule", "Transformation jobs"}
    assert not [text for text in others - {shown} if text in page]
