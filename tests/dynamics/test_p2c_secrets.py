"""manage.py p2c_secrets rotate: after a new key is put first, every stored secret is re-encrypted
with it (counts reported), a second run moves nothing, and a secret no key can decrypt stops it
before anything is changed."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from migration.connections.secrets import secret_decrypt
from migration.connections.services import connection_save
from migration.models import Connection
from migration.services.migrations import LegalEntityData, migration_create

from ..entra import DAEMON_CLIENT_ID, TENANT

OLD, NEW, LOST = (Fernet.generate_key().decode() for _ in range(3))
pytestmark = pytest.mark.django_db


@pytest.fixture
def three_secrets(migration, manager, settings):
    """Three connections of two migrations, their secrets under OLD."""
    settings.P2C_SECRETS_KEY = [OLD]
    twin = migration_create(
        creator=manager, name="Twin", customer="Contoso", legal_entities=[LegalEntityData("USMF", "US")]
    )
    for owner, kind, url in ((migration, "sales", "https://a.crm.dynamics.com"),
                             (migration, "fno", "https://a.operations.dynamics.com"),
                             (twin, "sales", "https://b.crm.dynamics.com")):  # fmt: skip
        connection_save(migration=owner, actor=manager, kind=kind, url=url, tenant_id=TENANT,
                        client_id=DAEMON_CLIENT_ID, client_secret=f"secret of {url}")  # fmt: skip
    return {c.pk: c.secret_encrypted for c in Connection.objects.all()}


def rotate(capsys):
    try:
        call_command("p2c_secrets", "rotate")
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_after_a_rotation_every_secret_moves_to_the_new_key_and_the_old_key_can_go(
    three_secrets, settings, capsys
):
    settings.P2C_SECRETS_KEY = [NEW, OLD]
    assert rotate(capsys) == (
        0,
        "3 secret(s) re-encrypted with the first key; 0 already under it. The other keys can be "
        "removed once every process runs with this P2C_SECRETS_KEY.\n",
    )
    settings.P2C_SECRETS_KEY = [NEW]  # the old key removed
    assert sorted(secret_decrypt(c.secret_encrypted) for c in Connection.objects.all()) == [
        "secret of https://a.crm.dynamics.com",
        "secret of https://a.operations.dynamics.com",
        "secret of https://b.crm.dynamics.com",
    ]


def test_a_second_run_moves_nothing(three_secrets, settings, capsys):
    settings.P2C_SECRETS_KEY = [NEW, OLD]
    rotate(capsys)
    after_first = {c.pk: c.secret_encrypted for c in Connection.objects.all()}
    code, out = rotate(capsys)
    assert (code, out.split(";")[0]) == (0, "0 secret(s) re-encrypted with the first key")
    assert "3 already under it" in out
    assert {c.pk: c.secret_encrypted for c in Connection.objects.all()} == after_first


def test_a_secret_no_key_decrypts_stops_the_rotation_before_anything_changes(
    three_secrets, settings, capsys, migration
):
    settings.P2C_SECRETS_KEY = [LOST]
    lost = Connection.objects.get(migration=migration, kind="fno")
    Connection.objects.filter(pk=lost.pk).update(secret_encrypted=Fernet(LOST).encrypt(b"x").decode())
    settings.P2C_SECRETS_KEY = [NEW, OLD]  # LOST is not among them
    before = {c.pk: c.secret_encrypted for c in Connection.objects.all()}
    code, out = rotate(capsys)
    assert code == 1
    assert "error: 1 stored secret(s) cannot be decrypted by any key of P2C_SECRETS_KEY" in out
    assert f"{migration.name}: Finance and Operations (https://a.operations.dynamics.com)" in out
    assert "Nothing was changed" in out
    assert {c.pk: c.secret_encrypted for c in Connection.objects.all()} == before


def test_without_a_key_it_says_what_to_set(three_secrets, settings, capsys):
    settings.P2C_SECRETS_KEY = []
    code, out = rotate(capsys)
    assert code == 2 and "set P2C_SECRETS_KEY" in out
