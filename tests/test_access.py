"""Every page, download and JSON endpoint for each role of the cast (access.py)."""

import pytest
from django.urls import reverse

from .helpers import migration_url

pytestmark = pytest.mark.django_db


ROLES = ["manager", "consultant", "viewer", "outsider", "anonymous"]


READ_PAGES = [
    ("migration_detail", {}),
    ("migration_progress_json", {}),
    ("activity_log", {}),
    ("members", {}),
    ("init_settings", {}),
    *[
        ("runbook", {"step": slug})
        for slug in ("last-sync", "exports", "uninstall", "initialize", "enable-maps")
    ],
]


# What each role gets on a GET of a readable page.
READ_EXPECTED = {"manager": 200, "consultant": 200, "viewer": 200, "outsider": 404, "anonymous": 302}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "kwargs"), READ_PAGES)
def test_it_shows_migration_pages_to_members_only(client_for, migration, role, name, kwargs):
    response = client_for(role).get(migration_url(name, migration, **kwargs))
    assert response.status_code == READ_EXPECTED[role]
    if role == "anonymous":
        assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "expected"), [("manager", 200), ("consultant", 403), ("viewer", 403), ("outsider", 404)]
)
def test_it_shows_settings_to_project_managers_only(client_for, migration, role, expected):
    assert client_for(role).get(migration_url("migration_settings", migration)).status_code == expected


WORK_POSTS = [
    ("note_add", {"step": "install"}, {"text": "Core solution 1.0.3 installed"}),
    ("duplicate_rule_add", {}, {"name": "Same account name", "table": "Account"}),
    ("uninstall_confirm", {}, {"typed_name": "Contoso cutover"}),
    (
        "init_settings",
        {},
        {
            "company": "USMF",
            "customer_group": "20",
            "relationship_type": "Customer",
            "language": "en-us",
            "order_type": "Item based",
            "date_order": "auto",
            "country": "keep",
        },
    ),
    (
        "runbook",
        {"step": "install"},
        {"{prefix}-current_step": "install", "install-TOTAL_FORMS": "0", "install-INITIAL_FORMS": "0"},
    ),
]


@pytest.mark.parametrize(
    ("role", "expected"), [("consultant", 302), ("viewer", 403), ("outsider", 404), ("anonymous", 302)]
)
@pytest.mark.parametrize(("name", "kwargs", "data"), WORK_POSTS)
def test_it_lets_consultants_but_not_viewers_work_the_steps(
    client_for, migration, role, expected, name, kwargs, data
):
    data = {key.format(prefix=f"runbook_{migration.id}"): value for key, value in data.items()}
    response = client_for(role).post(migration_url(name, migration, **kwargs), data)
    assert response.status_code == expected
    if role == "anonymous":
        assert reverse("login") in response.url


def test_it_saves_nothing_a_viewer_posts(client_for, migration):
    client_for("viewer").post(migration_url("note_add", migration, step="install"), {"text": "sneaky"})
    assert not migration.notes.exists()


MANAGE_POSTS = [
    ("step_signoff", {"step": "exports"}, {}),
    ("members", {}, {"username": "otto-outsider", "role": "viewer"}),
    ("legal_entity_add", {}, {"code": "GBSI", "name": "Contoso UK"}),
    ("migration_settings", {}, {"name": "Renamed", "customer": "Contoso Ltd"}),
]


@pytest.mark.parametrize(("role", "expected"), [("consultant", 403), ("viewer", 403), ("outsider", 404)])
@pytest.mark.parametrize(("name", "kwargs", "data"), MANAGE_POSTS)
def test_it_keeps_management_to_project_managers(client_for, migration, role, expected, name, kwargs, data):
    assert client_for(role).post(migration_url(name, migration, **kwargs), data).status_code == expected


def test_it_ships_a_project_managers_group_that_may_create_migrations():
    from django.contrib.auth.models import Group

    group = Group.objects.get(name="Project managers")  # made by a data migration
    assert [p.codename for p in group.permissions.all()] == ["add_migration"]


def test_it_lets_only_accounts_granted_it_create_migrations(client_for, migration):
    url = reverse("migration_create")
    assert client_for("consultant").get(url).status_code == 403
    assert client_for("consultant").post(url, {"name": "Probe"}).status_code == 403
    assert "New migration" not in client_for("consultant").get(reverse("dashboard")).text
    assert client_for("manager").get(url).status_code == 200
    assert "New migration" in client_for("manager").get(reverse("dashboard")).text


def test_it_hides_the_create_link_from_an_account_with_no_migration_and_no_permission(client_for):
    page = client_for("outsider").get(reverse("dashboard")).text
    assert "Create one" not in page and "an administrator to let you create migrations" in page


@pytest.mark.parametrize("role", ["consultant", "viewer", "outsider"])
def test_it_tells_no_one_but_the_migrations_project_managers_whether_a_user_exists(
    client_for, migration, role
):
    url = reverse("members", kwargs={"migration_id": migration.id})
    answers = {
        (r.status_code, r.text)
        for name in ("otto-outsider", "no-such-user")
        for r in [client_for(role).post(url, {"username": name, "role": "viewer"})]
    }
    assert len(answers) == 1 and next(iter(answers))[0] in (403, 404)
    assert not migration.memberships.filter(user__username="otto-outsider").exists()


def test_it_lets_only_accounts_granted_it_copy_a_migration(client_for, migration, manager):
    """A copy is a new migration its creator then manages: the same permission as New migration."""
    from django.core.exceptions import PermissionDenied

    from migration.access import project_managers_group
    from migration.models import Migration
    from migration.services.migrations import migration_copy

    manager.groups.remove(project_managers_group())  # manages this migration, may not create one
    client = client_for("manager")
    url = migration_url("migration_copy", migration)
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "Probe copy", "purpose": "production"}).status_code == 403
    assert "Copy this migration" not in client.get(migration_url("migration_detail", migration)).text
    with pytest.raises(PermissionDenied):
        migration_copy(source=migration, actor=manager, name="Probe copy")
    assert not Migration.objects.filter(name="Probe copy").exists()
