import datetime as dt

import pytest
from django.urls import reverse

from migration.services import checklist
from migration.services.migrations import LegalEntityData, migration_create

pytestmark = pytest.mark.django_db


def _names_in_order(page: str, names: list[str]) -> list[str]:
    return sorted(names, key=page.index)


def test_it_creates_a_migration_and_makes_me_its_project_manager(client_for, consultant):
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
    response = client_for("consultant").post(reverse("migration_create"), data)
    migration = consultant.migrations.get(name="Northwind")
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
    response = client_for("consultant").post(reverse("migration_create"), data)
    assert response.status_code == 200
    assert "Please submit at least 1 form" in response.content.decode()


def test_it_shows_current_step_percent_and_blocked_items(client_for, migration, manager):
    item = migration.items.get(key="sync-accounts")
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
