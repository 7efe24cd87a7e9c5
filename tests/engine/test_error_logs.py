"""Error logs in every form people have them: each form read and classified, anything else refused
with what was expected."""

import csv

import openpyxl
import pytest

from migration.engine import EngineError
from migration.engine.step9.error_logs import error_log_form
from migration.engine.step9.triage import triage_errors

from .helpers import write_csv, write_xlsx
from .helpers_triage import BAD_REQUEST, DOCUMENTED, VERSION

LOCATION = next(m for _, m, c in DOCUMENTED if c == "location_key")
MEMBER = next(m for _, m, c in DOCUMENTED if c == "app_user_roles")


def causes(path, **kwargs) -> list[str]:
    return triage_errors(path, **kwargs).errors["cause"].tolist()


def test_one_message_copied_from_the_portal(tmp_path):
    path = tmp_path / "details.txt"
    path.write_text(VERSION + "\n", encoding="utf-8")
    assert error_log_form(path).form == "text"
    assert causes(path) == ["solution_version"]


def test_many_messages_one_a_line_and_a_multi_line_summary_kept_whole(tmp_path):
    path = tmp_path / "pasted.txt"
    path.write_text(
        f"{VERSION}\r\n{LOCATION}\r\n\r\n{BAD_REQUEST}\r\n\r\n\r\nA message nobody documents\r\n",
        encoding="utf-8",
    )
    t = triage_errors(path)
    assert t.errors["cause"].tolist() == ["solution_version", "location_key", "export_bad_request", "unknown"]
    assert t.errors["row"].tolist() == [1, 2, 4, 18]  # the line each message starts on
    assert t.legs and t.legs[0]["target"] == "CRM msdyn_dimensionattributes"


def test_text_in_utf16_as_windows_saves_it(tmp_path):
    path = tmp_path / "details.txt"
    path.write_bytes("\ufeff".encode("utf-16-le") + f"{MEMBER}\r\n".encode("utf-16-le"))
    assert causes(path) == ["app_user_roles"]


def test_the_initial_syncs_error_file_and_the_activity_log(tmp_path):
    download = write_csv(tmp_path / "errors.csv", ["Record key", "Error message"], [["US-001", LOCATION]])
    activity = write_xlsx(
        tmp_path / "ActivityLog.xlsx",
        ["Date", "Activity", "Message"],
        [["2026-12-01", "Run", VERSION]],
        hidden=0,
    )
    assert causes(download) == ["location_key"]
    assert causes(activity) == ["solution_version"]


def test_a_data_management_execution_log_export(tmp_path):
    dmf = write_csv(
        tmp_path / "ExecutionLog.csv",
        ["Job ID", "Entity", "Company", "Log text"],
        [["DW-1", "Customers V3", "usmf", LOCATION], ["DW-1", "Customers V3", "demf", "Something else"]],
    )
    t = triage_errors(dmf)
    assert t.errors[["company", "cause"]].values.tolist() == [["USMF", "location_key"], ["DEMF", "unknown"]]


def test_messages_pasted_into_a_workbook_without_a_header(tmp_path):
    path = write_xlsx(tmp_path / "pasted.xlsx", [VERSION], [[LOCATION], [MEMBER]], hidden=0)
    assert error_log_form(path).form == "headerless"
    assert causes(path) == ["solution_version", "location_key", "app_user_roles"]


def test_messages_pasted_into_a_csv_without_a_header_are_read_as_text(tmp_path):
    path = tmp_path / "pasted.csv"
    path.write_text(f"{VERSION}\n{LOCATION}\n", encoding="utf-8")
    assert causes(path) == ["solution_version", "location_key"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "orders.csv",
            "Sales Order Number,Company\nSO-1,USMF\n",
            r"no message column \(headers found: 'Sales Order Number', 'Company'\)",
        ),
        ("details.txt", "\x00\x01\x02binary\x00" * 50, "named as text but holds binary data"),
        ("details.txt", "   \n\n", "holds no text"),
    ],
)
def test_a_file_that_is_no_error_log_is_refused_saying_what_was_expected(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(EngineError, match=expected):
        error_log_form(path)


def test_the_list_of_errors_never_runs_their_text_as_formulas(tmp_path):
    planted = ['=HYPERLINK("http://x","y")', "=1+2", "@SUM(A1)", "\tcmd /C calc"]
    log = write_csv(
        tmp_path / "errors.csv", ["Key", "Message"], [[f"=K{i}", m] for i, m in enumerate(planted)]
    )
    listed = tmp_path / "list.csv"
    triage_errors(log, list_path=listed)
    with open(listed, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["message"] for r in rows] == ["'" + m for m in planted]
    assert [r["key"] for r in rows] == [f"'=K{i}" for i in range(4)]
    xlsx = tmp_path / "list.xlsx"
    triage_errors(log, list_path=xlsx)  # an xlsx holds text cells: kept as they are, never run
    sheet = openpyxl.load_workbook(xlsx).active
    assert [c.value for c in sheet["I"][1:]] == planted and all(c.data_type == "s" for c in sheet["I"][1:])


def test_an_infolog_pasted_with_its_timestamped_lines_stays_one_message(tmp_path):
    infolog = (
        "Infolog diagnostic message: 'Cannot select a record in Dual write project sync "
        "(DualWriteProjectConfiguration). The SQL database has issued an error.' on category 'Error'.\n"
        "10/28/2019 15:18:20: Infolog diagnostic message: "
        "'[Microsoft][ODBC Driver 17 for SQL Server][SQL Server]Invalid column name 'ISDELETE'.' "
        "on category 'Error'.\n"
        "10/28/2019 15:18:20: Application configuration sync failed.\n"
        "Microsoft.Dynamics.AX.Framework.Database.TableSyncException: Custom action threw exception(s)\n"
    )
    path = tmp_path / "upgrade.txt"
    path.write_text(
        f"{infolog}\nlogin.microsoftonline.com refused to connect.\n{VERSION}\n", encoding="utf-8"
    )
    assert causes(path) == ["upgrade_isdelete", "sign_in_refused", "solution_version"]
