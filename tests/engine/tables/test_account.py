"""Account (tables/account.py): its targets, party numbers and issues."""

import pytest

from migration.engine import EngineError

from ..helpers import (
    codes,
    column,
    guid,
    read_csv,
    run,
    write_csv,
)

ACCOUNT_HEADERS = ["(Do Not Modify) Account", "Account Name", "Account Number", "Main Phone"]


def _accounts(tmp_path, rows, **kw):
    src = write_csv(tmp_path / "account.csv", ACCOUNT_HEADERS, rows)
    report, out = run(tmp_path, "account", src, **kw)
    return report, read_csv(out)


def test_it_sets_the_account_targets(tmp_path):
    report, rows = _accounts(
        tmp_path, [[guid(1), "Contoso", "ACC-1", "555"]], company="DEMF", customer_group="20"
    )
    assert rows[0][4:] == ["Company", "Relationship Type", "Customer Group Id", "Party Number"]
    assert rows[1] == [guid(1), "Contoso", "ACC-1", "555", "DEMF", "Customer", "20", "ACC-1"]
    assert report.counts["Party Number"] == 1
    assert report.columns_added == ["Company", "Relationship Type", "Customer Group Id", "Party Number"]


def test_it_uses_the_relationship_type_setting(tmp_path):
    _, rows = _accounts(tmp_path, [[guid(1), "C", "ACC-1", ""]], relationship_type="Prospect")
    assert column(rows, "Relationship Type") == ["Prospect"]


def test_it_reports_missing_account_numbers(tmp_path):
    report, rows = _accounts(tmp_path, [[guid(1), "C", "  ", ""], [guid(2), "D", "ACC-2", ""]])
    assert codes(report) == [(1, "missing_account_number")]
    issue = report.to_dict()["issues"][0]
    assert issue["guid"] == guid(1) and issue["severity"] == "error" and issue["column"] == "Account Number"
    assert column(rows, "Party Number") == ["", "ACC-2"]


def test_it_takes_party_numbers_from_the_fno_list(tmp_path):
    fno = write_csv(
        tmp_path / "fno.csv",
        ["customeraccount", "PartyNumber", "DATAAREAID"],
        [["acc-1", "000123", "usmf"], ["ACC-2", "000999", "demf"]],
    )
    report, rows = _accounts(
        tmp_path,
        [[guid(1), "C", "ACC-1", ""], [guid(2), "D", "ACC-2", ""]],
        party_numbers_path=str(fno),
    )
    assert column(rows, "Party Number") == ["000123", ""]
    assert codes(report) == [(2, "party_number_not_found")]


def test_it_matches_party_numbers_on_account_only_without_dataareaid(tmp_path):
    fno = write_csv(tmp_path / "fno.csv", ["CUSTOMERACCOUNT", "PARTYNUMBER"], [["ACC-1", "42"]])
    _, rows = _accounts(tmp_path, [[guid(1), "C", "ACC-1", ""]], party_numbers_path=str(fno))
    assert column(rows, "Party Number") == ["42"]


def test_it_refuses_a_customer_list_without_its_columns(tmp_path):
    fno = write_csv(tmp_path / "fno.csv", ["ACCOUNT", "PARTY"], [["ACC-1", "42"]])
    with pytest.raises(EngineError, match="CUSTOMERACCOUNT"):
        _accounts(tmp_path, [[guid(1), "C", "ACC-1", ""]], party_numbers_path=str(fno))


def test_it_reports_duplicate_keys_within_a_company(tmp_path):
    rows = [[guid(1), "C", "ACC-1", ""], [guid(2), "D", "acc-1 ", ""], [guid(3), "E", "ACC-3", ""]]
    report, _ = _accounts(tmp_path, rows)
    assert codes(report) == [(2, "duplicate_key")]
    assert "first in row 1" in report.to_dict()["issues"][0]["message"]
