"""Every page, download and JSON endpoint for each role of the cast."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from migration.models import Evidence

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


def _url(name, migration, **kwargs):
    return reverse(name, kwargs={"migration_id": migration.id, **kwargs})


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "kwargs"), READ_PAGES)
def test_it_shows_migration_pages_to_members_only(client_for, migration, role, name, kwargs):
    response = client_for(role).get(_url(name, migration, **kwargs))
    assert response.status_code == READ_EXPECTED[role]
    if role == "anonymous":
        assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "expected"), [("manager", 200), ("consultant", 403), ("viewer", 403), ("outsider", 404)]
)
def test_it_shows_settings_to_project_managers_only(client_for, migration, role, expected):
    assert client_for(role).get(_url("migration_settings", migration)).status_code == expected


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
    response = client_for(role).post(_url(name, migration, **kwargs), data)
    assert response.status_code == expected
    if role == "anonymous":
        assert reverse("login") in response.url


def test_it_saves_nothing_a_viewer_posts(client_for, migration):
    client_for("viewer").post(_url("note_add", migration, step="install"), {"text": "sneaky"})
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
    assert client_for(role).post(_url(name, migration, **kwargs), data).status_code == expected


def test_it_lets_a_project_manager_add_a_member(client_for, migration, outsider):
    response = client_for("manager").post(
        _url("members", migration), {"username": outsider.username, "role": "viewer"}
    )
    assert response.status_code == 302
    assert migration.memberships.filter(user=outsider, role="viewer").exists()
    assert migration.activities.filter(verb="member", description__contains=outsider.username).exists()


def test_it_explains_an_unknown_user_name(client_for, migration):
    response = client_for("manager").post(
        _url("members", migration), {"username": "nobody", "role": "viewer"}
    )
    assert "No active user is called" in response.content.decode()


def test_it_lets_a_project_manager_change_a_role(client_for, migration, consultant):
    member = migration.memberships.get(user=consultant)
    client_for("manager").post(_url("member_change", migration, member_id=member.id), {"role": "viewer"})
    member.refresh_from_db()
    assert member.role == "viewer"


def test_it_refuses_role_changes_on_another_migration(client_for, migration, other_migration):
    member = other_migration.memberships.get()
    response = client_for("manager").post(
        _url("member_change", migration, member_id=member.id), {"role": "viewer"}
    )
    assert response.status_code == 404


def test_it_renames_a_migration_and_logs_it(client_for, migration):
    data = {"name": "Contoso go-live", "customer": "Contoso Ltd", "go_live": "2027-03-01"}
    client_for("manager").post(_url("migration_settings", migration), data)
    migration.refresh_from_db()
    assert migration.name == "Contoso go-live"
    assert migration.activities.filter(description__contains="go-live date").exists()


@pytest.fixture
def evidence(migration, manager):
    item = Evidence(migration=migration, step=1, title="DI run log", added_by=manager)
    item.file.save("run.txt", ContentFile(b"Accounts: 1200 rows upserted"))
    return item


@pytest.mark.parametrize(("role", "expected"), [("viewer", 200), ("outsider", 404), ("anonymous", 302)])
def test_it_serves_evidence_files_to_members_only(client_for, migration, evidence, role, expected):
    response = client_for(role).get(_url("evidence_download", migration, evidence_id=evidence.id))
    assert response.status_code == expected
    if expected == 200:
        assert b"".join(response.streaming_content) == b"Accounts: 1200 rows upserted"


def test_it_keeps_an_evidence_upload_and_its_hash(client_for, migration):
    upload = ContentFile(b"%PDF-1.7 fake but with the right magic", name="signoff.pdf")
    response = client_for("consultant").post(
        _url("evidence_add", migration, step="install"), {"title": "Install report", "file": upload}
    )
    assert response.status_code == 302
    evidence = migration.evidence.get()
    assert evidence.file.read() == b"%PDF-1.7 fake but with the right magic"
    assert len(evidence.sha256) == 64


def test_it_refuses_evidence_whose_content_does_not_match_its_type(client_for, migration):
    upload = ContentFile(b"MZ\x90\x00 an executable", name="report.pdf")
    response = client_for("consultant").post(
        _url("evidence_add", migration, step="install"), {"title": "Report", "file": upload}, follow=True
    )
    assert "not a .pdf file" in response.content.decode()
    assert not migration.evidence.exists()


def test_it_refuses_evidence_over_the_size_limit(client_for, migration, settings):
    settings.P2C_MAX_UPLOAD_MB = 1
    upload = ContentFile(b"a" * (1024 * 1024 + 1), name="big.txt")
    response = client_for("consultant").post(
        _url("evidence_add", migration, step="install"), {"title": "Big", "file": upload}, follow=True
    )
    assert (
        "big.txt is larger than the 1 MB limit. Attach a smaller file or a link." in response.content.decode()
    )
    assert not migration.evidence.exists()


def test_it_lists_only_my_migrations_on_the_dashboard(client_for, migration, other_migration):
    page = client_for("consultant").get(reverse("dashboard")).content.decode()
    assert "Contoso cutover" in page
    assert "Fabrikam cutover" not in page


def test_it_asks_anonymous_users_to_sign_in_for_the_dashboard(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and reverse("login") in response.url
