"""Initial-sync error triage: each cause of Microsoft's troubleshooting articles, unknown kept."""

import json

import pytest

from migration.engine import EngineError
from migration.engine.triage import CAUSES, classify_message, execution_legs, message_details, triage_errors

from .helpers import guid, run_command, write_csv, write_xlsx

URL = "https://org.crm.dynamics.com/api/data/v9.0/contacts?$select=msdyn_contactpersonid"
BAD_REQUEST = """Dual write Initial Sync completed with status: Error. Following are the details:
Executed leg: From AX Financial dimensions to CRM msdyn_dimensionattributes
with exported records count: 0, ImportRecordsErrorCount: 0,
ImportRecordsInsertedCount: 0 and ImportRecordsUpdatedCount: 0
ErrorsDetails:
Dual write Initial sync failed
Message: ([Bad Request], The remote server returned an error: (400) Bad Request.), AX export encountered \
an error
Stacktrace: at Microsoft.Dynamics.Integrator.QueryGenerator.AxClient.<ExportAxPackage>d__16.MoveNext()"""

MESSAGES = {
    "circular_reference": (
        "Couldn't resolve the guid for the field: primarycontactid.msdyn_contactpersonid. The lookup "
        f"wasn't found: 000056. Try this URL(s) to check if the reference data exists: {URL}"
    ),
    "lookup_not_found": (
        "Couldn\u2019t resolve the guid for the field: msdyn_customergroupid.msdyn_groupid. The lookup was "
        f"not found: 30. Try this URL(s) to check if the reference data exists: {URL}"
    ),
    "party_not_found": "Party number couldn't be found in Dataverse.",
    "too_many_lookups": (
        "CRMExport: Package execution complete. Error Description 5 Attempts to get data from "
        "https://xxxxx//datasets/yyyyy/tables/accounts/items?$select=accountnumber, address2_city failed."
    ),
    "bad_request": BAD_REQUEST,
    "forbidden": (
        "([Forbidden], The remote server returned an error: (403) Forbidden.), AX export encountered an error"
    ),
    "permission": "Principal user (Id=1234, type=8) is missing prvCreateAccount privilege",
    "legal_entity_limit": (
        "Dual-write failure - Plugin registration failed: [(Unable to get partition map for project "
        "DWM-1ae35e60. Error Exceeds the maximum partitions allowed for mapping DWM-1ae35e60)]"
    ),
    "row_limit": "We currently limit project executions to 500k rows per execution per project.",
    "timeout": "The import result was not received within 24 hours: the operation timed out.",
    "double_quotes": (
        "Initial writes failed while parsing the data for leg: From Dynamics 365 for Finance and Operations "
        "Entity to Dynamics 365 for Sales Entity - Legal Entity. Message: "
        "Type=Microsoft.VisualBasic.FileIO.MalformedLineException, Msg=Line # cannot be parsed using the "
        "current Delimiters."
    ),
    "decimal_locale": (
        "An error occurred while validating input parameters: Microsoft.OData.ODataException: Can't convert "
        "the literal '000000' to the expected type'Edm.Decimal',..."
    ),
    "value_too_long": "String or binary data would be truncated. The statement has been terminated.",
    "duplicate_key": "A record with matching key values already exists.",
    "record_modified": (
        "Cannot edit a record in Customers (CustTable). The record has been modified by another user."
    ),
}


@pytest.mark.parametrize("code", [c.code for c in CAUSES])
def test_it_recognises_each_documented_cause(code):
    assert classify_message(MESSAGES[code]).code == code


def test_every_cause_says_what_to_do_with_a_microsoft_link():
    for cause in CAUSES:
        assert cause.action and cause.link.startswith("https://learn.microsoft.com/")


@pytest.mark.parametrize(
    "message",
    [
        "Cannot insert duplicate key row in object 'dbo.CUSTTABLE' with unique index 'I_ACCOUNTIDX'.",
        "The length of the field 'SalesOrderNumber' exceeds the maximum length 20",
        "The record was updated after it was exported.",
        "Execution timeout expired.",
    ],
)
def test_it_recognises_other_spellings(message):
    assert classify_message(message).code != "unknown"


def test_it_reads_the_field_and_the_value_a_lookup_names():
    assert message_details(MESSAGES["lookup_not_found"]) == {
        "field": "msdyn_customergroupid.msdyn_groupid",
        "value": "30",
    }


def test_it_reads_the_counts_of_an_execution_summary():
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


ACCOUNTS = ["(Do Not Modify) Account", "Account Number", "Company", "Relationship Type", "Party Number"]


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
            ["US001", MESSAGES["lookup_not_found"], "usmf"],
            ["DE001", MESSAGES["duplicate_key"], ""],
            ["XX999", "Something nobody has seen before", "USMF"],
            ["", MESSAGES["timeout"], ""],
        ],
    )
    return ours, errors


def test_it_keeps_unknown_messages_and_counts_per_cause_and_company(files):
    _, errors = files
    t = triage_errors(errors)
    assert t.errors["cause"].tolist() == ["lookup_not_found", "duplicate_key", "unknown", "timeout"]
    counts = {(r["cause"], r["company"]): r["errors"] for r in t.to_dict()["counts"]}
    assert counts == {
        ("lookup_not_found", "USMF"): 1,
        ("duplicate_key", ""): 1,
        ("unknown", "USMF"): 1,
        ("timeout", ""): 1,
    }
    assert t.columns == {"message": "Error message", "key": "RECORD KEY", "company": "legal entity"}


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
    assert {c["cause"] for c in data["causes"]} == {"lookup_not_found", "duplicate_key", "unknown", "timeout"}


def test_it_reads_a_workbook_with_other_column_names(tmp_path):
    path = write_xlsx(
        tmp_path / "errors.xlsx", ["Key", "MESSAGE"], [["O1", MESSAGES["value_too_long"]]], hidden=0
    )
    t = triage_errors(path)
    assert t.errors[["key", "cause"]].values.tolist() == [["O1", "value_too_long"]]


def test_it_refuses_a_file_without_a_message_column(tmp_path):
    path = write_csv(tmp_path / "e.csv", ["Key", "Name"], [["A", "B"]])
    with pytest.raises(EngineError, match="no message column"):
        triage_errors(path)


def test_cli_writes_the_report(files, tmp_path, capsys):
    ours, errors = files
    report = tmp_path / "r.json"
    assert run_command("p2c_triage", str(errors), "--output", str(ours), "--report", str(report)) == 0
    data = json.loads(report.read_text())
    assert data["errors_total"] == 4
    out = capsys.readouterr().out
    assert "unknown: 1" in out and "https://learn.microsoft.com/" in out


def test_cli_exits_2_on_bad_input(tmp_path, capsys):
    path = write_csv(tmp_path / "e.csv", ["Key", "Name"], [["A", "B"]])
    assert run_command("p2c_triage", str(path)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
