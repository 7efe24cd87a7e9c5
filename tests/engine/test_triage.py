# ruff: noqa: E501  (the articles' messages are quoted whole, one to a line)
"""Dual-write error triage: every message Microsoft's troubleshooting articles print, quoted as the
article prints it, classified to the cause the article gives; a message no article documents is
"unknown". Sources: MicrosoftDocs/dynamics-365-unified-operations-public,
articles/fin-ops-core/dev-itpro/data-entities/dual-write/<article>.md (read whole; the markdown's
escapes and code marks removed, the words kept)."""

import json

import pytest

from migration.engine import EngineError
from migration.engine.step9.error_causes import ARTICLES, CAUSES
from migration.engine.step9.triage import (
    classify_message,
    execution_legs,
    message_details,
    table_map_named,
    triage_errors,
)

from .helpers import guid, run_command, write_csv, write_xlsx
from .helpers_triage import BAD_REQUEST, DOCUMENTED, VERSION

# Messages no article quotes (database, Dataverse and plug-in texts people meet): never guessed.
UNDOCUMENTED = [
    "Cannot edit a record in Customers (CustTable). The record has been modified by another user.",
    "A record with matching key values already exists.",
    "String or binary data would be truncated. The statement has been terminated.",
    "The import result was not received within 24 hours: the operation timed out.",
    "Principal user (Id=1234, type=8) is missing prvCreateAccount privilege",
    "The remote server returned an error: (403) Forbidden.",
    "Something nobody has seen before",
]


@pytest.mark.parametrize(
    ("article", "message", "cause"), DOCUMENTED, ids=[f"{c}-{i}" for i, (_, _, c) in enumerate(DOCUMENTED)]
)
def test_each_documented_message_gets_the_articles_cause(article, message, cause):
    assert classify_message(message).code == cause  # `article`: where the message is quoted


def test_every_cause_is_quoted_by_a_test_and_every_article_has_one():
    assert {c.code for c in CAUSES} == {cause for _, _, cause in DOCUMENTED}
    assert {a.url.rsplit("/", 1)[-1] + ".md" for a in ARTICLES} == {a for a, _, _ in DOCUMENTED}


@pytest.mark.parametrize("message", UNDOCUMENTED)
def test_a_message_no_article_documents_is_unknown(message):
    assert classify_message(message).code == "unknown"


def test_the_cases_the_issue_found_misclassified():
    version = "Dynamics 365 for Sales solution 'Dynamics365Company' has version mismatch. Version: '2.0.2.10' Required version: '2.0.133'"
    assert classify_message(version).code == "solution_version"
    member = (
        "The user is not a member of the organization. The remote server returned an error: (403) Forbidden."
    )
    assert classify_message(member).code == "app_user_roles"
    location = next(m for _, m, c in DOCUMENTED if c == "location_key")
    assert classify_message(location).code == "location_key"


def test_each_cause_says_why_and_what_to_do_with_its_articles_section():
    for cause in CAUSES:
        assert cause.why and cause.action and cause.section
        assert cause.link.startswith(
            "https://learn.microsoft.com/dynamics365/fin-ops-core/dev-itpro/data-entities/dual-write/"
        )


def test_it_reads_the_field_and_the_value_a_lookup_names():
    message = next(m for _, m, c in DOCUMENTED if c == "lookup_not_found")
    assert message_details(message) == {"field": "msdyn_customergroupid.msdyn_groupid", "value": "30"}


def test_it_reads_the_counts_and_the_map_of_an_execution_summary():
    assert execution_legs(BAD_REQUEST) == [
        {
            "source": "AX Financial dimensions",
            "target": "CRM msdyn_dimensionattributes",
            "exported": 0,
            "errors": 0,
            "inserted": 0,
            "updated": 0,
        }
    ]
    assert table_map_named(BAD_REQUEST) == "AX Financial dimensions to CRM msdyn_dimensionattributes"
    assert table_map_named(VERSION) == "Customer groups (msdyn_customergroups)"


ACCOUNTS = ["(Do Not Modify) Account", "Account Number", "Company", "Relationship Type", "Party Number"]
LOOKUP = DOCUMENTED[7][1]


@pytest.fixture
def files(tmp_path):
    ours = write_csv(
        tmp_path / "account_out.csv",
        ACCOUNTS,
        [[guid(1), "US001", "USMF", "Customer", "US001"], [guid(2), "DE001", "DEMF", "Customer", "DE001"]],
    )
    errors = write_csv(
        tmp_path / "errors.csv",
        ["RECORD KEY", "Error message", "legal entity"],
        [
            ["US001", LOOKUP, "usmf"],
            ["DE001", VERSION, ""],
            ["XX999", "Something nobody has seen before", "USMF"],
            ["", UNDOCUMENTED[3], ""],
        ],
    )
    return ours, errors


def test_it_keeps_unknown_messages_and_counts_per_cause_company_and_table_map(files):
    _, errors = files
    t = triage_errors(errors, table="account")
    assert t.errors["cause"].tolist() == ["lookup_not_found", "solution_version", "unknown", "unknown"]
    counts = {(r["cause"], r["company"], r["table_map"]): r["errors"] for r in t.to_dict()["counts"]}
    assert counts == {
        ("lookup_not_found", "USMF", "Customers V3 (accounts)"): 1,
        ("solution_version", "", "Customer groups (msdyn_customergroups)"): 1,
        ("unknown", "USMF", "Customers V3 (accounts)"): 1,
        ("unknown", "", "Customers V3 (accounts)"): 1,
    }
    assert t.columns == {
        "errors.csv": {
            "form": "table",
            "message": "Error message",
            "key": "RECORD KEY",
            "company": "legal entity",
        }
    }


def test_it_ties_errors_to_our_output_by_key_and_takes_its_company(files):
    ours, errors = files
    t = triage_errors(errors, outputs=ours)
    assert t.table == "account"
    rows = t.to_dict()["errors"]
    assert [[r["key"], r["company"], r["our_row"]] for r in rows] == [
        ["US001", "USMF", 1],
        ["DE001", "DEMF", 2],
        ["XX999", "USMF", None],
        ["", "", None],
    ]
    data = t.to_dict()
    assert data["tied_to_output"] == 2
    assert {c["cause"] for c in data["causes"]} == {"lookup_not_found", "solution_version", "unknown"}


def test_it_reads_a_workbook_with_other_column_names(tmp_path):
    path = write_xlsx(tmp_path / "errors.xlsx", ["Key", "MESSAGE"], [["O1", VERSION]], hidden=0)
    t = triage_errors(path)
    assert t.errors[["key", "cause"]].values.tolist() == [["O1", "solution_version"]]


def test_it_refuses_a_file_that_is_no_error_log_saying_what_it_expected(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["Key", "Name"], [["A", "B"]])
    with pytest.raises(
        EngineError, match=r"no message column \(headers found: 'Key', 'Name'\).*'Message' column"
    ):
        triage_errors(path)


def test_cli_writes_the_report(files, tmp_path, capsys):
    ours, errors = files
    report = tmp_path / "r.json"
    listed = tmp_path / "errors_out.csv"
    assert (
        run_command(
            "p2c_triage",
            str(errors),
            "--output",
            str(ours),
            "--report",
            str(report),
            "--errors-out",
            str(listed),
        )
        == 0
    )
    data = json.loads(report.read_text())
    assert data["errors_total"] == 4
    assert len(listed.read_text(encoding="utf-8-sig").splitlines()) == 5
    out = capsys.readouterr().out
    assert "unknown: 2" in out and "https://learn.microsoft.com/" in out


def test_cli_exits_2_on_bad_input(tmp_path, capsys):
    path = write_csv(tmp_path / "e.csv", ["Key", "Name"], [["A", "B"]])
    assert run_command("p2c_triage", str(path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_an_error_ties_to_its_own_companys_row_when_a_key_is_in_two(tmp_path):
    ours = write_csv(
        tmp_path / "account_out.csv",
        ACCOUNTS,
        [[guid(1), "C-1", "USMF", "Customer", ""], [guid(2), "C-1", "DEMF", "Customer", ""]],
    )
    errors = write_csv(
        tmp_path / "errors.csv",
        ["Key", "Company", "Message"],
        [[" c-1 ", "demf", LOOKUP], ["C-1", "", LOOKUP], ["C-2", "USMF", LOOKUP]],
    )
    rows = triage_errors(errors, outputs=ours).to_dict()["errors"]
    assert [(r["company"], r["our_row"]) for r in rows] == [("DEMF", 2), ("USMF", 1), ("USMF", None)]
