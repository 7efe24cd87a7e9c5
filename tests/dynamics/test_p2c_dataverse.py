"""manage.py p2c_dataverse read: what a consultant who scripts sees when it cannot read."""

import time

import pytest
from django.core.management import call_command

from migration.dynamics.tokens import GivenToken
from migration.dynamics.webapi import WebApiClient

from ..entra import CERTIFICATE_CLIENT_ID, DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT
from .conftest import credentials_for
from .helpers import unsigned_token


@pytest.fixture
def no_credentials(monkeypatch):
    for name in ("P2C_TENANT_ID", "P2C_CLIENT_ID", "P2C_CLIENT_SECRET", "P2C_ACCESS_TOKEN",
                 "P2C_CLIENT_CERTIFICATE", "P2C_CLIENT_KEY"):  # fmt: skip
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


def test_an_expired_given_token_is_refused_before_anything_is_sent(
    no_credentials, sales, out, capsys, monkeypatch
):
    sales.add_table("salesorders", "salesorder", "salesorderid", {"ordernumber": "String"})
    monkeypatch.setenv("P2C_ACCESS_TOKEN", unsigned_token(aud=sales.url, exp=int(time.time()) - 60))
    code, err = read(capsys, "order", str(out / "o.csv"), "--url", sales.url)
    assert code == 2
    assert (
        "The access token expired at" in err and f"az account get-access-token --resource {sales.url}" in err
    )
    assert list(out.iterdir()) == [] and sales.received == []


def test_a_given_token_the_environment_refuses_says_how_to_get_another(
    no_credentials, sales, entra, out, capsys, monkeypatch
):
    sales.add_table("salesorders", "salesorder", "salesorderid", {"ordernumber": "String"})
    token = credentials_for(sales, entra).token()
    list(WebApiClient(sales.url, tokens=GivenToken(token)).pages("salesorders"))
    sales.revoke_tokens()  # as a token revoked, or expired since
    monkeypatch.setenv("P2C_ACCESS_TOKEN", token)
    code, err = read(capsys, "order", str(out / "o.csv"), "--url", sales.url)
    assert code == 2
    assert "refused the access token given" in err and "az account get-access-token" in err
    assert list(out.iterdir()) == []


def test_an_app_registration_with_a_certificate_reads(no_credentials, sales, entra, out, capsys, monkeypatch,
                                                      settings):  # fmt: skip
    settings.P2C_AUTHORITY_URL = entra.authority_url
    (out.parent / "app.crt").write_text(entra.app_certificate.certificate_pem)
    (out.parent / "app.key").write_text(entra.app_certificate.key_pem)
    for name, value in (("P2C_TENANT_ID", TENANT), ("P2C_CLIENT_ID", CERTIFICATE_CLIENT_ID),
                        ("P2C_CLIENT_CERTIFICATE", str(out.parent / "app.crt")),
                        ("P2C_CLIENT_KEY", str(out.parent / "app.key"))):  # fmt: skip
        monkeypatch.setenv(name, value)
    columns = {"ordernumber": "String", "customerid": "Customer"}
    order = {"salesorderid": "o1", "ordernumber": "ORD-1", "_customerid_value": "c"}
    sales.add_table("salesorders", "salesorder", "salesorderid", columns, [order])
    call_command("p2c_dataverse", "read", "order", str(out / "o.csv"), "--url", sales.url)
    assert "ORD-1" in (out / "o.csv").read_text(encoding="utf-8-sig")
    monkeypatch.setenv("P2C_CLIENT_KEY", str(out.parent / "app.crt"))  # the wrong file
    code, err = read(capsys, "order", str(out / "p.csv"), "--url", sales.url)
    assert code == 2 and "The private key is not a PEM file" in err


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
