import pytest

from migration.access import project_managers_group
from migration.models import JobState, Role, UploadKind
from migration.services import job_worker, jobs
from migration.services.migrations import LegalEntityData, member_add, migration_create

from .engine.helpers import reexport_workbook, step2_export
from .helpers import PASSWORD, RedisServer, free_port, step_9_open, upload_inspected
from .helpers_sync import output_rows


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test writes uploads and results to its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def job_tmp_dir(settings, tmp_path):
    """Jobs' temporary folders, per test."""
    settings.P2C_TMP_DIR = tmp_path / "p2c-tmp"
    return settings.P2C_TMP_DIR


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2's deliberate slowness would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    # The manifest storage needs collectstatic first; tests don't depend on it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _user(django_user_model, username):
    return django_user_model.objects.create_user(username=username, password=PASSWORD)


# The fixed cast: a migration's project manager, consultant and viewer, and an
# outsider who belongs to another migration only.
@pytest.fixture
def manager(django_user_model):
    user = _user(django_user_model, "mia-manager")
    user.groups.add(project_managers_group())  # an administrator let her create migrations
    return user


@pytest.fixture
def consultant(django_user_model):
    return _user(django_user_model, "carl-consultant")


@pytest.fixture
def viewer(django_user_model):
    return _user(django_user_model, "vera-viewer")


@pytest.fixture
def outsider(django_user_model):
    return _user(django_user_model, "otto-outsider")


@pytest.fixture
def migration(manager, consultant, viewer):
    migration = migration_create(
        creator=manager,
        name="Contoso cutover",
        customer="Contoso Ltd",
        legal_entities=[LegalEntityData("USMF", "Contoso US"), LegalEntityData("DEMF", "Contoso DE")],
    )
    member_add(migration=migration, actor=manager, user=consultant, role=Role.CONSULTANT)
    member_add(migration=migration, actor=manager, user=viewer, role=Role.VIEWER)
    return migration


@pytest.fixture
def other_migration(outsider):
    return migration_create(
        creator=outsider,
        name="Fabrikam cutover",
        customer="Fabrikam",
        legal_entities=[LegalEntityData("FRRT", "Fabrikam FR")],
    )


@pytest.fixture
def client_for(client, manager, consultant, viewer, outsider):
    """Log the test client in as one of the cast by role name ('anonymous' stays logged out)."""
    cast = {"manager": manager, "consultant": consultant, "viewer": viewer, "outsider": outsider}

    def login(role: str):
        if role != "anonymous":
            client.force_login(cast[role])
        return client

    return login


@pytest.fixture
def redis_server():
    """A Redis of the test's own, on a free port (it can be stopped and started again)."""
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


# Step 8's output and what step 9 compares with it.


@pytest.fixture
def account_job(migration, consultant):
    step_9_open(migration)
    upload_inspected(migration, consultant, "account.csv")
    job = jobs.job_start(migration=migration, table="account", actor=consultant)
    job_worker.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    return job


@pytest.fixture
def planted(account_job):
    """F&O's Customers V3 after the sync: two accounts missing, one extra, one in another group."""
    rows = [r for r in output_rows(account_job) if r["Account Number"]]
    keys = [r["Account Number"] for r in rows]
    unique = [r for r in rows if keys.count(r["Account Number"]) == 1]
    fno = [
        [r["Account Number"], r["Company"].lower(), r["Party Number"], r["Customer Group Id"], "Organization"]
        for r in unique[2:]
    ]
    fno[0][3] = "99"
    fno.append(["NOT-OURS-1", "usmf", "NOT-OURS-1", "10", "Organization"])
    return {
        "missing": sorted(r["Account Number"] for r in unique[:2]),
        "differing": unique[2]["Account Number"],
        "part1": fno[: len(fno) // 2],
        "part2": fno[len(fno) // 2 :],
    }


@pytest.fixture
def order_route(migration, consultant, tmp_path):
    """The step-2 order export and an xlsx re-export of the same records, uploaded and inspected."""
    step2 = step2_export(tmp_path / "order.csv", 3000)
    reexport = reexport_workbook(tmp_path / "order_reexport.xlsx", 3000)
    upload_inspected(migration, consultant, str(step2), table="order")
    upload_inspected(migration, consultant, str(reexport), table="order", kind=UploadKind.REEXPORT)
    return reexport


@pytest.fixture(scope="session")
def azurite():
    """Azurite on a free port of 127.0.0.1, for the session (tests that stop it start it again)."""
    from .azurite import Azurite

    server = Azurite()
    server.start()
    yield server
    server.remove()


class StoredFiles:
    """What the default storage holds, whichever it is: the names a user's files are kept under."""

    def __init__(self, kind: str, media_root, azurite=None, container: str = "") -> None:
        self.kind, self.media_root, self.azurite, self.container = kind, media_root, azurite, container

    def names(self) -> list[str]:
        if self.kind == "azure":
            return self.azurite.names(self.container)
        return sorted(str(p.relative_to(self.media_root)) for p in self.media_root.rglob("*") if p.is_file())


@pytest.fixture(params=["filesystem", "azure"])
def file_storage(request, settings, media_root):
    """The test runs twice: on the folder storage (the embedded default) and on Azure Blob
    storage (Azurite), through the same code."""
    if request.param == "filesystem":
        return StoredFiles("filesystem", media_root)
    server = request.getfixturevalue("azurite")
    if not server.answers():  # an earlier test stopped it and failed before starting it again
        server.start()
    container = server.new_container()
    settings.STORAGES = {**settings.STORAGES, "default": server.storage_settings(container)}
    return StoredFiles("azure", media_root, server, container)
