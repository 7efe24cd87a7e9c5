"""The runbook: the wizard, checklists, sign-offs, the uninstall gate, rules, notes, evidence, settings."""

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from migration import item_kinds, runbook, selectors
from migration.models import Activity, ChecklistItem, Evidence, Signoff
from migration.services import checklist
from migration.services.migrations import sync_run_key
from migration.services.settings import init_settings_update

from .helpers import SETTINGS, migration_url, step_data, step_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence(migration, manager):
    item = Evidence(migration=migration, step=1, title="DI run log", added_by=manager)
    item.file.save("run.txt", ContentFile(b"Accounts: 1200 rows upserted"))
    return item


@pytest.mark.parametrize(("role", "expected"), [("viewer", 200), ("outsider", 404), ("anonymous", 302)])
def test_it_serves_evidence_files_to_members_only(client_for, migration, evidence, role, expected):
    response = client_for(role).get(migration_url("evidence_download", migration, evidence_id=evidence.id))
    assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content) == b"Accounts: 1200 rows upserted"


def test_it_keeps_an_evidence_upload_and_its_hash(client_for, migration):
    upload = ContentFile(b"%PDF-1.7 fake but with the right magic", name="signoff.pdf")
    response = client_for("consultant").post(
        migration_url("evidence_add", migration, step="install"), {"title": "Install report", "file": upload}
    )
    assert response.status_code == 302
    evidence = migration.evidence.get()
    assert evidence.file.read() == b"%PDF-1.7 fake but with the right magic"
    assert len(evidence.sha256) == 64


def test_it_refuses_evidence_whose_content_does_not_match_its_type(client_for, migration):
    upload = ContentFile(b"MZ\x90\x00 an executable", name="report.pdf")
    response = client_for("consultant").post(
        migration_url("evidence_add", migration, step="install"),
        {"title": "Report", "file": upload},
        follow=True,
    )
    assert "not a .pdf file" in response.content.decode()
    assert not migration.evidence.exists()


def test_it_refuses_evidence_over_the_size_limit(client_for, migration, settings):
    settings.P2C_MAX_UPLOAD_MB = 1
    upload = ContentFile(b"a" * (1024 * 1024 + 1), name="big.txt")
    response = client_for("consultant").post(
        migration_url("evidence_add", migration, step="install"),
        {"title": "Big", "file": upload},
        follow=True,
    )
    assert (
        "big.txt is larger than the 1 MB limit. Attach a smaller file or a link." in response.content.decode()
    )
    assert not migration.evidence.exists()


def _item(migration, key) -> ChecklistItem:
    return migration.items.get(key=key)


def _export_all(migration, actor):
    """Step 2 with nothing left to export: every table marked not used, with a reason (the
    gate's tests with real parts are in test_gate.py)."""
    rows = [
        {"item_id": item.id, "details": {"status": "not_used", "reason": "No such records"}}
        for item in migration.items.filter(step=2)
    ]
    checklist.step_save(migration=migration, step=2, actor=actor, rows=rows)


def _backup_taken(migration, actor):
    item = migration.items.get(kind=item_kinds.BACKUP)
    checklist.item_update(item=item, actor=actor, details={"label": "Before P2C uninstall"})


def test_it_records_who_completed_an_item_and_when(migration, consultant):
    item = _item(migration, sync_run_key(runbook.DATA_INTEGRATOR_PROJECTS[0], "USMF"))
    checklist.item_update(
        item=item, actor=consultant, details={"run_on": "2026-11-20", "result": "succeeded"}
    )
    item.refresh_from_db()
    assert item.done and item.done_by == consultant and item.done_at is not None
    assert Activity.objects.filter(migration=migration, verb="completed", actor=consultant).exists()


def test_it_does_not_count_a_failed_run_as_done(migration, consultant):
    item = _item(migration, sync_run_key(runbook.DATA_INTEGRATOR_PROJECTS[3], "USMF"))
    checklist.item_update(item=item, actor=consultant, details={"run_on": "2026-11-20", "result": "failed"})
    assert not _item(migration, sync_run_key(runbook.DATA_INTEGRATOR_PROJECTS[3], "USMF")).done


def test_it_reopens_an_item_and_logs_it(migration, consultant):
    item = _item(migration, "install-core")
    checklist.item_update(item=item, actor=consultant, details={}, ticked=True)
    checklist.item_update(item=item, actor=consultant, details={}, ticked=False)
    item.refresh_from_db()
    assert not item.done and item.done_by is None
    assert Activity.objects.filter(migration=migration, verb="reopened").count() == 1


def test_it_counts_an_unused_table_as_done_only_with_a_reason(migration, consultant):
    item = _item(migration, "export-invoice")
    checklist.item_update(item=item, actor=consultant, details={"status": "not_used", "reason": ""})
    assert not _item(migration, "export-invoice").done
    checklist.item_update(
        item=item, actor=consultant, details={"status": "not_used", "reason": "No invoices in CE"}
    )
    assert _item(migration, "export-invoice").done


def test_it_logs_blocking_and_shows_it_in_progress(migration, consultant):
    item = _item(migration, "install-core")
    checklist.item_update(item=item, actor=consultant, details={}, blocker="Waiting for LCS access")
    progress = selectors.progress_get(migration)
    assert progress.blocked == 1
    assert progress.steps[3].state == selectors.BLOCKED
    assert Activity.objects.filter(migration=migration, verb="blocked").exists()


def test_it_counts_overdue_items(migration, consultant):
    item = _item(migration, "install-core")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    checklist.item_update(item=item, actor=consultant, details={}, due_on=yesterday)
    assert selectors.progress_get(migration).overdue == 1


def test_it_refuses_sign_off_while_exports_are_missing(migration, manager):
    with pytest.raises(checklist.ChecklistError, match="cannot be signed off") as refused:
        checklist.step_sign_off(migration=migration, step=2, actor=manager)
    assert any("Account has no export" in r.text for r in refused.value.reasons)


def test_it_refuses_sign_off_by_a_consultant(migration, consultant):
    _export_all(migration, consultant)
    with pytest.raises(checklist.ChecklistError, match="project manager"):
        checklist.step_sign_off(migration=migration, step=2, actor=consultant)


def test_it_unlocks_step_3_when_the_exports_are_signed_off(migration, manager):
    assert selectors.progress_get(migration).steps[2].locked
    _export_all(migration, manager)
    checklist.step_sign_off(migration=migration, step=2, actor=manager)
    assert not selectors.progress_get(migration).steps[2].locked
    assert Activity.objects.filter(migration=migration, verb="signoff").count() == 1


def test_it_refuses_the_uninstall_before_sign_off(migration, consultant):
    with pytest.raises(checklist.ChecklistError, match="locked"):
        checklist.uninstall_confirm(migration=migration, actor=consultant, typed_name=migration.name)


def test_it_needs_the_exact_name_to_confirm_the_uninstall(migration, manager):
    _export_all(migration, manager)
    checklist.step_sign_off(migration=migration, step=2, actor=manager)
    with pytest.raises(checklist.ChecklistError, match="backup"):
        checklist.uninstall_confirm(migration=migration, actor=manager, typed_name="Contoso cutover")
    _backup_taken(migration, manager)
    with pytest.raises(checklist.ChecklistError, match="exactly"):
        checklist.uninstall_confirm(migration=migration, actor=manager, typed_name="contoso")
    item = checklist.uninstall_confirm(migration=migration, actor=manager, typed_name="Contoso cutover")
    assert item.done and item.done_by == manager


def test_it_adds_a_reenable_item_to_step_9_for_each_recorded_rule(migration, consultant):
    checklist.duplicate_rule_record(
        migration=migration, actor=consultant, name="Accounts same name", table="Account"
    )
    assert migration.items.filter(step=7, kind=item_kinds.DUPLICATE_RULE).count() == 1
    reenable = migration.items.get(step=9, kind=item_kinds.REENABLE_RULE)
    assert "Accounts same name" in reenable.title
    last_map = migration.items.filter(step=9, kind=item_kinds.TABLE_MAP).order_by("-position").first()
    assert reenable.position > last_map.position


def test_it_logs_each_changed_setting(migration, manager):
    changed = init_settings_update(
        init_settings=migration.init_settings,
        actor=manager,
        values={"language": "de", "customer_group": "10"},
    )
    assert changed == ["language"]
    assert Activity.objects.filter(migration=migration, verb="setting", description__contains="de").exists()


def test_it_describes_every_item_kind_in_one_registry(migration):
    seeded = set(migration.items.values_list("kind", flat=True))
    assert seeded <= set(item_kinds.KINDS)
    for kind in item_kinds.KINDS.values():
        assert kind.fields() is not kind.fields()  # fresh fields for every form
        assert not item_kinds.is_done(kind.key, {}, ticked=False, was_done=False)


# The migration fixture has two legal entities: one row per Data Integrator project and entity.
RUNS = 2 * len(runbook.DATA_INTEGRATOR_PROJECTS)


def succeeded_runs(count=RUNS):
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
    assert migration.items.filter(step=1, done=True, done_by=consultant).count() == RUNS
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
    assert page.count("Done by <strong>carl-consultant</strong>") == RUNS
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
    assert migration.items.filter(step=1, done=True).count() == RUNS


def test_it_finishes_on_the_overview(client_for, migration, manager):
    Signoff.objects.create(migration=migration, step=8, signed_by=manager)  # opens step 9
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


def test_it_opens_step_3_after_sign_off_and_warns_about_data_loss(client_for, migration, manager):
    client = client_for("manager")
    _export_all(migration, manager)
    client.post(reverse("step_signoff", kwargs={"migration_id": migration.id, "step": "exports"}))
    _backup_taken(migration, manager)
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
    page = response.content.decode()
    assert "Step 2 cannot be signed off yet: 9 reason(s)" in page
    assert "Account has no export: upload it, or mark the table not used with a reason." in page


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
        ("initialize", "The import route, one card per table"),
    ],
)
def test_it_shows_each_step_its_own_panel(client_for, migration, slug, shown):
    page = client_for("consultant").get(step_url(migration, slug)).content.decode()
    assert shown in page
    others = {
        "Upload the exports",
        "Record an active duplicate detection rule",
        "The import route, one card per table",
    }
    assert not [text for text in others - {shown} if text in page]


@pytest.mark.parametrize("field", ["customer_group", "entity_DEMF_customer_group"])
@pytest.mark.parametrize("value", ["=1+2", "@SUM(A1)", "+cmd", "-2+3"])
def test_it_refuses_a_setting_that_starts_like_a_formula(client_for, migration, field, value):
    """The customer group is written into every row of the review copy, where Excel would run it."""
    url = reverse("init_settings", kwargs={"migration_id": migration.id})
    response = client_for("consultant").post(url, {**SETTINGS, field: value})
    assert response.status_code == 200 and "starts like a formula" in response.text
    migration.init_settings.refresh_from_db()
    assert migration.init_settings.customer_group != value
    assert not migration.legal_entities.filter(customer_group=value).exists()


def test_a_data_integrator_project_never_run_counts_as_not_used_only_with_a_reason(migration, consultant):
    key = sync_run_key(runbook.DATA_INTEGRATOR_PROJECTS[3], "USMF")
    checklist.item_update(item=_item(migration, key), actor=consultant, details={"result": "not_used"})
    assert not _item(migration, key).done
    row = item_kinds.KINDS[item_kinds.SYNC_RUN].errors({"result": "not_used", "reason": ""})
    assert row == {"reason": "Say why this project is not used (for example: the customer never ran it)."}

    checklist.item_update(
        item=_item(migration, key), actor=consultant, details={"reason": "The customer never ran it"}
    )
    assert _item(migration, key).done


def test_it_says_why_a_run_with_errors_leaves_the_row_open(client_for, migration, consultant):
    key = sync_run_key(runbook.DATA_INTEGRATOR_PROJECTS[0], "USMF")
    checklist.item_update(
        item=_item(migration, key),
        actor=consultant,
        details={"run_on": "2026-11-20", "result": "with_errors"},
    )
    page = client_for("consultant").get(reverse("runbook", args=[migration.id, "last-sync"]))
    assert not _item(migration, key).done
    assert "A run completed with errors leaves this row open" in page.content.decode()


def test_step_3_asks_for_the_backup_before_the_uninstall_and_then_says_who_recorded_it(
    client_for, migration, manager
):
    _export_all(migration, manager)
    checklist.step_sign_off(migration=migration, step=2, actor=manager)
    client = client_for("manager")
    url = reverse("runbook", args=[migration.id, "uninstall"])
    page = client.get(url).content.decode()
    assert "I uninstalled Prospect to cash" not in page
    assert 'First the backup: record it in the checklist row <a href="#item-sales-backup">' in page

    _backup_taken(migration, manager)
    page = client.get(url).content.decode()
    assert "Backup recorded: Before P2C uninstall." in page
    assert page.index("I uninstalled Prospect to cash") > 0

    checklist.uninstall_confirm(migration=migration, actor=manager, typed_name=migration.name)
    page = client.get(url).content.decode()
    assert "I uninstalled Prospect to cash" not in page
    assert "Uninstall recorded by <strong>mia-manager</strong> on" in page


def test_step_9_opens_after_step_8s_sign_off(client_for, migration, manager):
    with pytest.raises(checklist.ChecklistError, match="Step 9 cannot be signed off before step 8"):
        checklist.step_sign_off(migration=migration, step=9, actor=manager)
    page = client_for("consultant").get(step_url(migration, "enable-maps")).content.decode()
    assert "This step is locked until a project manager signs off step 8" in page
    assert "Open step 9 now" not in page  # only a project manager may

    migration.items.filter(step=8).update(done=True)
    checklist.step_sign_off(migration=migration, step=8, actor=manager)
    assert not selectors.progress_get(migration).steps[8].locked


def test_a_manager_opens_step_9_early_with_a_reason_kept_in_the_log(client_for, migration, manager):
    client = client_for("manager")
    assert "Open step 9 now" in client.get(step_url(migration, "enable-maps")).content.decode()
    url = reverse("step_open_early", args=[migration.id, "enable-maps"])
    refused = client.post(url, {"reason": " "}, follow=True).content.decode()
    assert "Say why step 9 opens before step 8 is signed off." in refused
    assert selectors.progress_get(migration).steps[8].locked

    page = client.post(url, {"reason": "Accounts are verified; orders follow"}, follow=True).content.decode()

    assert "Opened before step 8's sign-off by <strong>mia-manager</strong>" in page
    assert not selectors.progress_get(migration).steps[8].locked
    logged = Activity.objects.get(migration=migration, verb="opened early")
    assert (
        logged.description == "Opened step 9 before step 8's sign-off: Accounts are verified; orders follow"
    )
    assert logged.actor == manager


def test_step_3_cannot_be_opened_early(migration, manager):
    with pytest.raises(checklist.ChecklistError, match="Step 3 opens only when step 2 is signed off"):
        checklist.step_open_early(migration=migration, step=3, actor=manager, reason="In a hurry")


def test_step_2s_badge_says_it_waits_for_its_sign_off_until_signed(migration, manager):
    _export_all(migration, manager)
    assert selectors.progress_get(migration).steps[1].state_label == "Waiting for sign-off"
    checklist.step_sign_off(migration=migration, step=2, actor=manager)
    assert selectors.progress_get(migration).steps[1].state_label == "Done"


def test_a_not_used_reason_ending_with_a_full_stop_shows_one(client_for, migration, manager):
    item = _item(migration, "export-invoice")
    checklist.item_update(item=item, actor=manager, details={"status": "not_used", "reason": "No invoices."})
    page = client_for("viewer").get(reverse("runbook", args=[migration.id, "exports"])).content.decode()
    assert "Marked not used: No invoices. It is left out" in page and "No invoices.." not in page


def test_the_settings_explain_account_numbers_customized_and_show_the_company_rules_map(
    client_for, migration, manager
):
    init_settings_update(
        init_settings=migration.init_settings,
        actor=manager,
        values={"company_rule_column": "Owning Business Unit", "company_rule_map": {"US Sales": "USMF"}},
    )
    client = client_for("consultant")
    form = client.get(reverse("init_settings", args=[migration.id])).content.decode()
    assert "Tick when Sales has a customization of Account Number (the article&#x27;s condition)" in form
    step8 = client.get(reverse("runbook", args=[migration.id, "initialize"])).content.decode()
    assert "(per row from “Owning Business Unit”: US Sales → USMF; other values: USMF)" in step8
