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

IS = "dual-write-troubleshooting-initial-sync.md"
GUIDE = "initial-sync-guidance.md"
LIVE = "dual-write-troubleshooting-live-sync.md"
MAPS = "dual-write-troubleshooting-dual-write-module.md"
UPGRADE = "dual-write-troubleshooting-finops-upgrades.md"
SETUP = "dual-write-troubleshooting-initial-setup.md"
GAB = "party-gab-troubleshooting.md"

BAD_REQUEST = """Dual write Initial Sync completed with status: Error. Following are the details:
Executed leg: From AX Financial dimensions to CRM msdyn_dimensionattributes
with exported records count: 0, ImportRecordsErrorCount: 0,
ImportRecordsInsertedCount: 0 and ImportRecordsUpdatedCount: 0
ErrorsDetails:
Dual write Initial sync failed
Message: ([Bad Request], The remote server returned an error: (400) Bad Request.), AX export encountered an error
Stacktrace: at
Microsoft.Dynamics.Integrator.QueryGenerator.AxClient.<ExportAxPackage>d__16.MoveNext()
in X:\\bt\\1024532\\repo\\src\\Core\\QueryGenerator\\AxClient.cs:line 265
--- End of stack trace from previous location where exception was thrown ---
at System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw()"""  # IS: "400 Bad Request", full example

ISDELETE = (  # UPGRADE: "Database synchronization errors"
    "Infolog diagnostic message: 'Cannot select a record in Dual write project sync (DualWriteProjectConfiguration). "
    "The SQL database has issued an error.' on category 'Error'. 10/28/2019 15:18:20: Infolog diagnostic message: "
    "'Object Server Database Synchronizer: ' on category 'Error'. 10/28/2019 15:18:20: Infolog diagnostic message: "
    "'[Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Invalid column name 'ISDELETE'.' on category 'Error'."
)

# (source article, message as printed, cause)
DOCUMENTED = [
    (
        IS,
        "([Bad Request], The remote server returned an error: (400) Bad Request.), AX export encountered an error.",
        "export_bad_request",
    ),
    (IS, BAD_REQUEST, "export_bad_request"),
    (
        IS,
        "([Forbidden], The remote server returned an error: (403) Forbidden.), AX export encountered an error",
        "export_forbidden",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_vendorprimarycontactperson.msdyn_contactpersonid. The lookup wasn't found: 000056. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/contacts?$select=msdyn_contactpersonid.contactid&$filter=msdyn_contactpersonid eq '000056'",
        "circular_reference",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_invoicevendoraccountnumber.msdyn_vendoraccountnumber. The lookup wasn't found: V24-1. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/msdn_vendors?$select=msdyn_vendoraccountnumber,msdyn_vendorid&$filter=msdyn_vendoraccountnumber eq 'V24-1'",
        "circular_reference",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: primarycontactid.msdyn_contactpersonid. The lookup wasn't found: 000056. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/contacts?$select=msdyn_contactpersonid.contactid&$filter=msdyn_contactpersonid eq '000056'",
        "circular_reference",
    ),
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_billingaccount.accountnumber. The lookup wasn't found: 1206-1. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/accounts?$select=accountnumber.account&$filter=accountnumber eq '1206-1'",
        "circular_reference",
    ),
    # The article's form of the message, for a field that is no self or circular reference.
    (
        IS,
        "Couldn't resolve the guid for the field: msdyn_customergroupid.msdyn_groupid. The lookup wasn't found: 30. Try this URL(s) to check if the reference data exists: https://focdsdevtest2.crm.dynamics.com/api/data/v9.0/msdyn_customergroups?$select=msdyn_groupid&$filter=msdyn_groupid eq '30'",
        "lookup_not_found",
    ),
    (
        IS,
        "CRMExport: Package execution complete. Error Description 5 Attempts to get data from https://xxxxx//datasets/yyyyy/tables/accounts/items?$select=accountnumber, address2_city, address2_country, ... (msdyn_company/cdm_companyid eq 'ID')&$orderby=accountnumber asc failed.",
        "too_many_lookups",
    ),
    (GUIDE, "5 Attempts to get data from https://XXXX.azure-apim.net/apim... Failed", "too_many_lookups"),
    (IS, "Party number couldn't be found in Dataverse.", "party_not_found"),
    (
        IS,
        "An error occurred while validating input parameters: Microsoft.OData.ODataException: Can't convert the literal '000000' to the expected type'Edm.Decimal',...",
        "decimal_locale",
    ),
    (
        GUIDE,
        "Initial writes failed while parsing the data for leg:From Dynamics 365 for Finance and Operations Entity to Dynamics 365 for Sales Entity - Legal Entity. Message: Type=Microsoft.VisualBasic.FileIO.MalformedLineException, Msg=Line # cannot be parsed using the current Delimiters.",
        "double_quotes",
    ),
    (
        GUIDE,
        "Dual-write failure - Plugin registration failed: [(Unable to get partition map for project DWM-1ae35e60-4bc2-4905-88ea-XXXXX. Error Exceeds the maximum partitions allowed for mapping DWM-1ae35e60-4bc2-4905-88ea- XXXXX)], One or more errors occurred.",
        "partition_limit",
    ),
    (
        SETUP,
        "Dual write failure - Plugin registration failed: [(Unable to get partition map for project\nDWM-1ae35e60-4bc2-4905-88ea-69efd3b29260-7f12cb89-1550-42e2-858e-4761fc1443ea.\nError Exceeds the maximum partitions allowed for mapping\nDWM-1ae35e60-4bc2-4905-88ea-69efd3b29260-7f12cb89-1550-42e2-858e-4761fc1443ea)],\nOne or more errors occurred.",
        "partition_limit",
    ),
    (
        LIVE,
        '[{\\"error\\":{\\"code\\":\\"0x80072560\\",\\"message\\":\\"The user isn\'t a member of the organization.\\"}}], The remote server returned an error: (403) Forbidden."}}".',
        "app_user_roles",
    ),
    (
        LIVE,
        '[{\\"error\\":{\\"code\\":\\"0x80072560\\",\\"message\\":\\"The user is not a\nmember of the organization.\\"}}], The remote server returned an error: (403)\nForbidden."}}".',
        "app_user_roles",
    ),  # the 2020 revision
    (
        LIVE,
        "Can't save the changes to the database. Unit of Work can't commit transaction. Unable to write data to entity uoms. Writes to UnitOfMeasureEntity failed with error message Unable to sync with entity uoms.",
        "reference_data_missing",
    ),
    (
        LIVE,
        '{"entityName":"CustCustomerV3Entity","executionStatus":2,"fieldResponses":[],"recordResponses":[{"errorMessage":"Unable to generate payload for entity CustCustomerV3Entity","logDateTime":"2019-08-27T18:5152.5843124Z","verboseError":"Payload creation failed with error Invalid URI: The URI is empty."}],"isErrorCountUpdated":true}',
        "dataverse_reset",
    ),
    (
        LIVE,
        "An unexpected error occurred from ISV code. (ErrorType = ClientError) Unexpected exception from plug-in (Execute): Microsoft.Dynamics.Integrator.DualWriteRuntime.Plugins.PostCommitPlugin: System.Exception: failed to process entity account - A connection attempt failed because the connected party didn't properly respond after a period of time, or established connection failed because connected host didn't respond.",
        "dataverse_reset",
    ),
    (LIVE, "SecureConfig Organization (???) doesn't match actual CRM Organization (???).", "database_copy"),
    (
        LIVE,
        "Unable to write data to entity aaa_fundingsources. Unable to look up ebecsfs_contracts with values {PC00...}. Unable to look up aaa_fundingsources with values {PC00...}. Writes to aaa_fundingsources failed with error message Exception message: The remote server returned an error: (400) Bad Request.",
        "same_batch_references",
    ),
    (
        LIVE,
        "Unable to write data to entity msdyn_partypostaladdresses. Writes to DirPartyPostalAddressLocationCDSEntity failed with error message Request failed with status code BadRequest and CDS error code: 0x80040265 response message: An error occurred in plugin. A record that has the attribute values Location ID already exists. The entity key Location ID Key requires that this set of attributes contains unique values. Select unique values and try again.",
        "location_key",
    ),
    (
        LIVE,
        '"RecordError0":"Write failed for entity Customers V3 with unknown exception - Party record not found for party type \'Organization\'"}.',
        "party_record_not_found",
    ),
    (
        LIVE,
        "Cannot update a party's type from 'DirOrganization' to 'DirPerson', a delete of the existing party followed by an insert with the new type should be performed instead.",
        "party_type_change",
    ),
    (
        GAB,
        "Can't update a party's type from 'DirOrganization' to 'DirPerson', a delete of the existing party followed by an insert with the new type should be performed instead.",
        "party_type_change",
    ),
    (
        GAB,
        "Customers V3 (accounts): Project validation failed. Missing destination field msdyn_billingaccount.accountnumber in the schema. Missing destination field msdyn_primarycontact.msdyn_contactforpartynumber in the schema.",
        "integration_keys",
    ),
    (
        GAB,
        "Unable to write data to entity msdyn_contactforparties. Unable to look up msdyn_parties with values {000006057}. Unable to look up cdm_workers with values {000020}.",
        "contact_from_view_form",
    ),
    (
        GAB,
        "Unable to write data to entity msdyn_contactforparties.Writes to smmContactPersonV2Entity failed with error message Request failed with status code BadRequest and CDS error code: 0x0 response message: An error occurred while validating input parameters: Microsoft.OData.ODataException: Can't convert the literal '' to the expected type 'Edm.Int32'.",
        "contact_update_int32",
    ),
    (MAPS, "Response status code does not indicate success: 401 (Unauthorized).", "map_create_unauthorized"),
    (MAPS, "login.microsoftonline.com refused to connect.", "sign_in_refused"),
    (
        MAPS,
        "Response status code does not indicate success: 403 (tokenexchange).\nSession ID: <your session id>\nRoot activity ID: <your root activity> id",
        "token_exchange",
    ),
    (
        MAPS,
        '[Forbidden], [{"status":403,"source":"","message":"Error from token exchange:\nUser is not allowed to access connection\ndynamicscrmonline/xxxxxx-xxxx-xxxx-xxxxxxxx"}], The remote server returned an\nerror: (403) Forbidden.',
        "stop_forbidden",
    ),
    (
        MAPS,
        "Unable to complete initial data sync. Error: dual-write failure - plugin registration failed: Unable to build dual-write lookup metadata. Error object reference not set to an instance of an object.",
        "lookup_metadata",
    ),
    (
        MAPS,
        "Customer groups (msdyn_customergroups) : Dual write failure - Dynamics 365 for Sales solution 'Dynamics365Company' has version mismatch. Version: '2.0.2.10' Required version: '2.0.133'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'Dynamics365FinanceExtended' has version mismatch. Version: '1.0.0.0' Required version: '2.0.227'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'Dynamics365FinanceAndOperationsCommon' has version mismatch. Version: '1.0.0.0' Required version: '2.0.133'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'CurrencyExchangeRates' has version mismatch. Version: '1.0.0.0' Required version: '2.0.133'",
        "solution_version",
    ),
    (
        MAPS,
        "Dynamics 365 for Sales solution 'Dynamics365SupplyChainExtended' has version mismatch. Version: '1.0.0.0' Required version: '2.0.227'",
        "solution_version",
    ),
    (UPGRADE, ISDELETE, "upgrade_isdelete"),
    (UPGRADE, "Missing source field <field name> in the schema.", "missing_field"),
    (
        SETUP,
        "Saving connection set failed! An item with the same key has already been added.",
        "duplicate_company_name",
    ),
    (SETUP, "Response status code doesn't indicate success: 404 (Not Found).", "app_consent"),
    (
        SETUP,
        "Finance and operations apps environment ***.cloudax.dynamics.com isn't discoverable.",
        "not_discoverable",
    ),
    (
        SETUP,
        "MSG=[Failed to setup dual write environment. Error Details:Response status code does not indicate success: 403 (Forbidden). - Response status code does not indicate success: 403 (Forbidden).] STACKTRACE=[   at Microsoft.Dynamics.Integrator.ProjectManagementService.DualWrite.DualWriteConnectionSetProcessor.<CreateDualWriteConnectionSetAsync>d__29.MoveNext()",
        "power_apps_license",
    ),
]

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
VERSION = next(m for _, m, c in DOCUMENTED if m.startswith("Customer groups"))


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
