"""manage.py p2c_dataverse read: what a consultant who scripts sees when it cannot read."""

import pytest
from django.core.management import call_command

from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT


@pytest.fixture
def no_credentials(monkeypatch):
    for name in ("P2C_TENANT_ID", "P2C_CLIENT_ID", "P2C_CLIENT_SECRET", "P2C_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def read(capsys, *args):
    with pytest.raises(SystemExit) as exit_:
        call_command("p2c_dataverse", "read", *args)
    return exit_.value.code, capsys.readouterr().err


def test_without_credentials_it_says_which_to_set(no_credentials, sales, out, capsys):
    code, err = read(capsys, "order", str(out / "o.csv"), "--url", sales.url)
    assert code == 2
    assert "set P2C_TENANT_ID, P2C_CLIENT_ID, P2C_CLIENT_SECRET" in err and "P2C_ACCESS_TOKEN" in err
    assert sales.received == []


def test_a_refused_app_registration_exits_2_and_leaves_no_file(
    no_credentials, sales, entra, out, capsys, monkeypatch, settings
):
    settings.P2C_AUTHORITY_URL = entra.authority_url
    monkeypatch.setenv("P2C_TENANT_ID", TENANT)
    monkeypatch.setenv("P2C_CLIENT_ID", DAEMON_CLIENT_ID)
    monkeypatch.setenv("P2C_CLIENT_SECRET", "wrong")
    code, err = read(capsys, "order", str(out / "o.csv"), "--url", sales.url)
    assert code == 2
    assert err.startswith(f"error: cannot read {sales.url}: Microsoft Entra ID refused the app registration")
    assert list(out.iterdir()) == []


def test_an_expired_given_token_says_how_to_get_another(no_credentials, sales, out, capsys, monkeypatch):
    sales.add_table("salesorders", "salesorder", "salesorderid", {"ordernumber": "String"})
    monkeypatch.setenv("P2C_ACCESS_TOKEN", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln")
    code, err = read(capsys, "order", str(out / "o.csv"), "--url", sales.url)
    assert code == 2
    assert "refused the access token given" in err and "az account get-access-token" in err
    assert list(out.iterdir()) == []


def test_a_table_without_a_column_the_engine_needs_is_refused(
    no_credentials, sales, out, capsys, monkeypatch, settings, entra
):
    settings.P2C_AUTHORITY_URL = entra.authority_url
    monkeypatch.setenv("P2C_TENANT_ID", TENANT)
    monkeypatch.setenv("P2C_CLIENT_ID", DAEMON_CLIENT_ID)
    monkeypatch.setenv("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)
    sales.add_table("salesorders", "salesorder", "salesorderid", {"name": "String"})
    code, err = read(capsys, "order", str(out / "o.csv"), "--url", sales.url)
    assert code == 2
    assert "salesorder has no column ordernumber, customerid in this environment" in err


def test_a_url_that_is_not_https_is_refused(no_credentials, out, capsys):
    code, err = read(capsys, "order", str(out / "o.csv"), "--url", "http://contoso.crm.dynamics.com")
    assert code == 2 and "is not an environment address" in err
