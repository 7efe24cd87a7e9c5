import datetime as dt

import pytest

from migration import item_kinds, runbook, selectors
from migration.models import Activity, AppendOnlyError, ChecklistItem, Role
from migration.services import checklist, migrations
from migration.services.settings import init_settings_update

pytestmark = pytest.mark.django_db


def _item(migration, key) -> ChecklistItem:
    return migration.items.get(key=key)


def _export_all(migration, actor):
    rows = [
        {"item_id": item.id, "details": {"status": "exported", "row_count": 10, "reason": ""}}
        for item in migration.items.filter(step=2)
    ]
    checklist.step_save(migration=migration, step=2, actor=actor, rows=rows)


def test_it_seeds_the_nine_steps_and_one_link_item_per_legal_entity(migration):
    steps = set(migration.items.values_list("step", flat=True))
    assert steps == set(range(1, 10)) - {7}  # step 7 fills as rules are recorded
    assert migration.items.filter(step=1).count() == 6
    assert migration.items.filter(step=2, kind=item_kinds.EXPORT).count() == 9
    links = migration.items.filter(step=5).values_list("title", flat=True)
    assert sorted(links) == ["DEMF Contoso DE linked", "USMF Contoso US linked"]
    assert list(
        migration.items.filter(step=9, kind=item_kinds.TABLE_MAP).values_list("title", flat=True)
    ) == list(runbook.STEP9_MAPS)


def test_it_makes_the_creator_project_manager_and_defaults_company(migration, manager):
    assert migration.memberships.get(user=manager).role == Role.MANAGER
    assert migration.init_settings.company == "USMF"


def test_it_records_who_completed_an_item_and_when(migration, consultant):
    item = _item(migration, "sync-accounts")
    checklist.item_update(
        item=item, actor=consultant, details={"run_on": "2026-11-20", "result": "succeeded"}
    )
    item.refresh_from_db()
    assert item.done and item.done_by == consultant and item.done_at is not None
    assert Activity.objects.filter(migration=migration, verb="completed", actor=consultant).exists()


def test_it_does_not_count_a_failed_run_as_done(migration, consultant):
    item = _item(migration, "sync-orders")
    checklist.item_update(item=item, actor=consultant, details={"run_on": "2026-11-20", "result": "failed"})
    assert not _item(migration, "sync-orders").done


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
    item = _item(migration, "install-link")
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


def test_it_refuses_sign_off_while_items_are_open(migration, manager):
    with pytest.raises(checklist.ChecklistError, match="open item"):
        checklist.step_sign_off(migration=migration, step=2, actor=manager)


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


def test_it_keeps_the_activity_log_append_only(migration):
    entry = Activity.objects.filter(migration=migration).first()
    entry.description = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_it_keeps_at_least_one_project_manager(migration, manager):
    membership = migration.memberships.get(user=manager)
    with pytest.raises(migrations.MembershipError):
        migrations.member_change_role(membership=membership, actor=manager, role=Role.VIEWER)
    with pytest.raises(migrations.MembershipError):
        migrations.member_remove(membership=membership, actor=manager)


def test_it_refuses_a_duplicate_member(migration, manager, consultant):
    with pytest.raises(migrations.MembershipError, match="already"):
        migrations.member_add(migration=migration, actor=manager, user=consultant, role=Role.VIEWER)


def test_it_adds_and_removes_link_items_with_legal_entities(migration, manager):
    entity = migrations.legal_entity_add(migration=migration, actor=manager, code="gbsi", name="Contoso UK")
    assert entity.code == "GBSI"
    assert migration.items.filter(key="link-gbsi").exists()
    migrations.legal_entity_remove(entity=entity, actor=manager)
    assert not migration.items.filter(key="link-gbsi").exists()


def test_it_logs_each_changed_setting(migration, manager):
    changed = init_settings_update(
        init_settings=migration.init_settings,
        actor=manager,
        values={"language": "de", "customer_group": "10"},
    )
    assert changed == ["language"]
    assert Activity.objects.filter(migration=migration, verb="setting", description__contains="de").exists()


def test_it_reports_percent_and_current_step(migration, manager):
    progress = selectors.progress_get(migration)
    assert progress.percent == 0 and progress.current_step.step.number == 1
    for item in migration.items.filter(step=1):
        checklist.item_update(
            item=item, actor=manager, details={"run_on": "2026-11-01", "result": "succeeded"}
        )
    progress = selectors.progress_get(migration)
    assert progress.current_step.step.number == 2
    assert progress.percent == round(100 * 6 / progress.total)


def test_it_describes_every_item_kind_in_one_registry(migration):
    seeded = set(migration.items.values_list("kind", flat=True))
    assert seeded <= set(item_kinds.KINDS)
    for kind in item_kinds.KINDS.values():
        assert kind.fields() is not kind.fields()  # fresh fields for every form
        assert not item_kinds.is_done(kind.key, {}, ticked=False, was_done=False)
