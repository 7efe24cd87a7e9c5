"""Migrations: the dashboard, creating and renaming, legal entities, members, progress, the activity log."""

import datetime as dt

import pytest
from django.urls import reverse

from migration import item_kinds, runbook, selectors
from migration.models import Activity, AppendOnlyError, ChecklistItem, Role
from migration.services import checklist, migrations
from migration.services.migrations import LegalEntityData, migration_create

from .helpers import migration_url

pytestmark = pytest.mark.django_db


def _names_in_order(page: str, names: list[str]) -> list[str]:
    return sorted(names, key=page.index)


def test_it_creates_a_migration_and_makes_me_its_project_manager(client_for, manager):
    data = {
        "name": "Northwind",
        "customer": "Northwind Traders",
        "fno_url": "https://nw.operations.dynamics.com",
        "ce_url": "",
        "go_live": "2027-01-15",
        "entities-TOTAL_FORMS": "2",
        "entities-INITIAL_FORMS": "0",
        "entities-MIN_NUM_FORMS": "1",
        "entities-MAX_NUM_FORMS": "1000",
        "entities-0-code": "nwus",
        "entities-0-name": "Northwind US",
    }
    response = client_for("manager").post(reverse("migration_create"), data)
    migration = manager.migrations.get(name="Northwind")
    assert response.url == reverse("migration_detail", kwargs={"migration_id": migration.id})
    assert migration.memberships.get().role == "manager"
    assert list(migration.legal_entities.values_list("code", flat=True)) == ["NWUS"]


def test_it_needs_at_least_one_legal_entity(client_for):
    data = {
        "name": "Northwind",
        "customer": "Northwind Traders",
        "entities-TOTAL_FORMS": "2",
        "entities-INITIAL_FORMS": "0",
        "entities-MIN_NUM_FORMS": "1",
        "entities-MAX_NUM_FORMS": "1000",
    }
    response = client_for("manager").post(reverse("migration_create"), data)
    assert response.status_code == 200
    assert "Please submit at least 1 form" in response.content.decode()


def test_it_shows_current_step_percent_and_blocked_items(client_for, migration, manager):
    item = migration.items.get(key=migrations.sync_run_key(runbook.DATA_INTEGRATOR_PROJECTS[0], "USMF"))
    checklist.item_update(item=item, actor=manager, details={}, blocker="DI project errors")
    page = client_for("manager").get(reverse("dashboard")).content.decode()
    assert "1. Last full sync" in page
    assert "1 blocked" in page
    assert "0%" in page


def test_it_sorts_by_go_live(client_for, manager, migration):
    later = migration_create(
        creator=manager,
        name="Later",
        customer="L",
        legal_entities=[LegalEntityData("LL", "L")],
        go_live=dt.date(2030, 1, 1),
    )
    migration.go_live = dt.date(2027, 1, 1)
    migration.save()
    client = client_for("manager")
    page = client.get(reverse("dashboard") + "?sort=golive").content.decode()
    assert _names_in_order(page, ["Later", "Contoso cutover"]) == ["Contoso cutover", "Later"]
    page = client.get(reverse("dashboard") + "?sort=golive&dir=desc").content.decode()
    assert _names_in_order(page, ["Later", "Contoso cutover"]) == [later.name, "Contoso cutover"]


def test_it_reports_progress_as_json_for_members(client_for, migration):
    data = (
        client_for("viewer")
        .get(reverse("migration_progress_json", kwargs={"migration_id": migration.id}))
        .json()
    )
    assert data["current_step"] == 1
    assert [s["number"] for s in data["steps"]] == list(range(1, 10))
    assert data["steps"][2]["state"] == "blocked"  # locked until step 2 is signed off


def test_it_shows_the_activity_log_newest_first(client_for, migration, manager):
    checklist.duplicate_rule_record(migration=migration, actor=manager, name="R1", table="Account")
    page = (
        client_for("viewer")
        .get(reverse("activity_log", kwargs={"migration_id": migration.id}))
        .content.decode()
    )
    assert page.index("Recorded duplicate detection rule") < page.index("Created migration")


def test_it_lets_a_project_manager_add_a_member(client_for, migration, outsider):
    response = client_for("manager").post(
        migration_url("members", migration), {"username": outsider.username, "role": "viewer"}
    )
    assert response.status_code == 302
    assert migration.memberships.filter(user=outsider, role="viewer").exists()
    assert migration.activities.filter(verb="member", description__contains=outsider.username).exists()


def test_it_explains_an_unknown_user_name(client_for, migration):
    response = client_for("manager").post(
        migration_url("members", migration), {"username": "nobody", "role": "viewer"}
    )
    assert "No active user is called" in response.content.decode()


def test_it_lets_a_project_manager_change_a_role(client_for, migration, consultant):
    member = migration.memberships.get(user=consultant)
    client_for("manager").post(
        migration_url("member_change", migration, member_id=member.id), {"role": "viewer"}
    )
    member.refresh_from_db()
    assert member.role == "viewer"


def test_it_refuses_role_changes_on_another_migration(client_for, migration, other_migration):
    member = other_migration.memberships.get()
    response = client_for("manager").post(
        migration_url("member_change", migration, member_id=member.id), {"role": "viewer"}
    )
    assert response.status_code == 404


def test_it_renames_a_migration_and_logs_it(client_for, migration):
    data = {"name": "Contoso go-live", "customer": "Contoso Ltd", "go_live": "2027-03-01"}
    client_for("manager").post(migration_url("migration_settings", migration), data)
    migration.refresh_from_db()
    assert migration.name == "Contoso go-live"
    assert migration.activities.filter(description__contains="go-live date").exists()


def test_it_lists_only_my_migrations_on_the_dashboard(client_for, migration, other_migration):
    page = client_for("consultant").get(reverse("dashboard")).content.decode()
    assert "Contoso cutover" in page
    assert "Fabrikam cutover" not in page


def test_it_asks_anonymous_users_to_sign_in_for_the_dashboard(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and reverse("login") in response.url


def _item(migration, key) -> ChecklistItem:
    return migration.items.get(key=key)


def test_it_seeds_the_nine_steps_and_one_link_item_per_legal_entity(migration):
    steps = set(migration.items.values_list("step", flat=True))
    assert steps == set(range(1, 10))
    # One row per Data Integrator project and legal entity.
    assert migration.items.filter(step=1).count() == 2 * len(runbook.DATA_INTEGRATOR_PROJECTS)
    assert migration.items.filter(step=2, kind=item_kinds.EXPORT).count() == 9
    links = migration.items.filter(step=5, kind=item_kinds.LEGAL_ENTITY).values_list("title", flat=True)
    assert sorted(links) == ["DEMF Contoso DE linked", "USMF Contoso US linked"]
    assert list(
        migration.items.filter(step=9, kind=item_kinds.TABLE_MAP).values_list("title", flat=True)
    ) == list(runbook.STEP9_MAPS)


def test_it_makes_the_creator_project_manager_and_defaults_company(migration, manager):
    assert migration.memberships.get(user=manager).role == Role.MANAGER
    assert migration.init_settings.company == "USMF"


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


def test_it_reports_percent_and_current_step(migration, manager):
    progress = selectors.progress_get(migration)
    assert progress.percent == 0 and progress.current_step.step.number == 1
    for item in migration.items.filter(step=1):
        checklist.item_update(
            item=item, actor=manager, details={"run_on": "2026-11-01", "result": "succeeded"}
        )
    progress = selectors.progress_get(migration)
    assert progress.current_step.step.number == 2
    assert progress.percent == round(100 * 2 * len(runbook.DATA_INTEGRATOR_PROJECTS) / progress.total)
