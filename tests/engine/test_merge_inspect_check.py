"""Merge mode's row accounting, inspect_file and check_exports."""

import json

import pytest
from django.core.management import ManagementUtility
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from migration.engine import EngineError, check_exports, find_exports, inspect_file, transform_file

from .helpers import ORDER_HEADERS, codes, column, guid, order_rows, read_csv, settings, write_csv, write_xlsx

STEP2 = ["(Do Not Modify) Contact", "Full Name", "Contact Number", "Is Active Customer"]
REEXPORT = [
    "(Do Not Modify) Contact", "Full Name", "Contact Number", "Company", "Sellable", "Customer Group Id",
    "Contact For", "Party Number", "Account Number/Contact Person ID",
]  # fmt: skip


def _merge(tmp_path):
    step2 = write_csv(
        tmp_path / "step2.csv",
        STEP2,
        [[guid(1), "Ann", "CON-1", "Yes"], [guid(2), "Bob", "CON-2", "No"], [guid(4), "Dan", "CON-4", "Yes"]],
    )
    reexport = write_csv(
        tmp_path / "reexport.csv",
        REEXPORT,
        [
            ["{" + guid(2).upper() + "}", "Bob", "", "", "", "", "", "", ""],
            [guid(1), "Ann", "", "", "", "", "", "", ""],
            [guid(3), "Cid", "", "", "", "", "", "", ""],
        ],
    )
    out = tmp_path / "out.csv"
    report = transform_file("contact", reexport, out, settings(), merge_source_path=step2)
    return report, read_csv(out)


def test_it_fills_a_re_export_from_the_step2_export_by_guid(tmp_path):
    report, rows = _merge(tmp_path)
    assert rows[0] == REEXPORT  # filled in place: no column added
    assert rows[1][1:] == ["Bob", "CON-2", "USMF", "No", "", "Customer", "CON-2", "CON-2"]
    assert rows[2][1:] == ["Ann", "CON-1", "USMF", "Yes", "10", "", "CON-1", "CON-1"]
    assert report.columns_added == []


def test_it_reports_rows_found_in_only_one_file(tmp_path):
    report, rows = _merge(tmp_path)
    assert len(rows) == 4  # every re-export row, once, in order
    assert report.merge == {
        "step2_rows": 3, "reexport_rows": 3, "matched": 2, "only_in_reexport": 1, "only_in_step2": 1,
    }  # fmt: skip
    found = codes(report)
    assert (3, "merge_only_in_reexport") in found
    assert (3, "merge_only_in_step2") in found  # row 3 of the step-2 export
    only_step2 = [i for i in report.to_dict()["issues"] if i["code"] == "merge_only_in_step2"]
    assert only_step2[0]["guid"] == guid(4)


def test_it_refuses_merge_without_guids(tmp_path):
    step2 = write_csv(tmp_path / "s.csv", ["Contact Number", "Is Active Customer"], [["CON-1", "Yes"]])
    reexport = write_csv(tmp_path / "r.csv", REEXPORT, [[guid(1), "Ann", "", "", "", "", "", "", ""]])
    with pytest.raises(EngineError, match="GUID"):
        transform_file("contact", reexport, tmp_path / "o.csv", settings(), merge_source_path=step2)


def test_it_inspects_a_file(tmp_path):
    rows = order_rows(25)
    rows[3][3] = "ORD-THIS-IS-FAR-TOO-LONG-FOR-DW"
    src = write_xlsx(tmp_path / "order.xlsx", ORDER_HEADERS, rows)
    result = inspect_file(src)
    assert (result.table, result.detected_table, result.warning) == ("order", "order", None)
    assert result.rows == 25 and len(result.preview) == 20
    assert result.hidden_columns == [0, 1, 2]
    assert result.matched["Order ID"] == "Order ID" and result.missing_required == []
    assert result.issue_counts == {"sales_order_number_too_long": 1}
    assert result.guid_column == "(Do Not Modify) Order"
    json.dumps(result.to_dict())


def test_it_warns_when_headers_look_like_another_table(tmp_path):
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(2))
    result = inspect_file(src, table="quote")
    assert result.detected_table == "order" and "Order export" in (result.warning or "")
    assert result.missing_required == ["Quote ID", "Potential Customer"]


def _exports(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write_csv(
        folder / "account.csv",
        ["(Do Not Modify) Account", "Account Name", "Account Number"],
        [[guid(1), "Contoso", "ACC-1"], [guid(2), "Fabrikam", "acc-1"]],
    )
    write_csv(
        folder / "contact.csv",
        ["(Do Not Modify) Contact", "Full Name", "Company Name", "Contact Number", "Is Active Customer"],
        [[guid(3), "Ann", "Contoso", "CON-1", "Yes"], [guid(4), "Bob", "Litware", "CON-2", "No"]],
    )
    write_csv(
        folder / "Order.csv",
        ["(Do Not Modify) Order", "Order ID", "Name", "Customer"],
        [[guid(5), "ORD-1", "Order 1", "Contoso"]],
    )
    write_csv(
        folder / "order products.csv",
        ["(Do Not Modify) Order Product", "Order", "Existing Product"],
        [[guid(6), "Order 1", "Desk"], [guid(7), "Order 9", "Chair"]],
    )
    return folder


def test_it_checks_exports_together(tmp_path):
    folder = _exports(tmp_path)
    paths = find_exports(folder)
    assert sorted(paths) == ["account", "contact", "order", "order_products"]
    result = check_exports(paths, company="USMF")
    by_code = {f.code: f for f in result.findings}
    assert by_code["line_without_header"].examples == ["Order 9"]
    assert by_code["contact_without_account"].examples == ["Litware"]
    assert by_code["duplicate_key"].table == "account"
    assert result.rows == {"USMF": {"account": 2, "contact": 2, "order": 1, "order_products": 2}}
    assert "Order 9" in result.summary_text()
    assert result.to_dict()["errors"] == 2


def test_it_flags_counts_over_the_initial_sync_limit(tmp_path, monkeypatch):
    from migration.engine.step2 import check

    monkeypatch.setattr(check, "SYNC_LIMIT_ACCOUNTS", 1)
    result = check_exports(find_exports(_exports(tmp_path)), company="USMF")
    assert any(f.code == "over_sync_limit" and f.table == "account" for f in result.findings)


def test_it_runs_p2c_check_with_json(tmp_path, capsys):
    folder = _exports(tmp_path)
    ManagementUtility(["manage.py", "p2c_check", str(folder), "--company", "USMF", "--json"]).execute()
    data = json.loads(capsys.readouterr().out)
    assert data["rows"]["USMF"]["order_products"] == 2


def test_it_runs_p2c_check_with_a_summary_and_refuses_a_missing_folder(tmp_path, capsys):
    ManagementUtility(["manage.py", "p2c_check", str(_exports(tmp_path))]).execute()
    assert "line_without_header" not in capsys.readouterr().out  # the summary is prose
    with pytest.raises(SystemExit) as e:
        ManagementUtility(["manage.py", "p2c_check", str(tmp_path / "nope")]).execute()
    assert e.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_it_reports_unreadable_files_as_findings(tmp_path):
    bad = tmp_path / "account.xlsx"
    bad.write_text("nope")
    result = check_exports({"account": bad})
    assert result.findings[0].code == "unreadable_file"
    assert column([["x"], ["y"]], "x") == ["y"]


def test_it_counts_rows_and_duplicates_per_company_with_a_company_rule(tmp_path):
    from migration.engine import CompanyRule

    src = write_csv(
        tmp_path / "account.csv",
        ["(Do Not Modify) Account", "Account Name", "Account Number", "Business Unit"],
        [[guid(1), "A", "ACC-1", "US"], [guid(2), "B", "ACC-1", "DE"], [guid(3), "C", "ACC-3", "DE"]],
    )
    result = check_exports(
        {"account": src}, company="USMF", company_rule=CompanyRule("Business Unit", {"DE": "DEMF"})
    )
    assert result.rows == {"USMF": {"account": 1}, "DEMF": {"account": 2}}
    assert not [f for f in result.findings if f.code == "duplicate_key"]


def test_it_points_a_re_export_without_p2c_columns_to_merge_mode(tmp_path):
    reexport = write_csv(tmp_path / "r.csv", REEXPORT, [[guid(1), "Ann", "", "", "", "", "", "", ""]])
    with pytest.raises(EngineError, match="merge mode"):
        transform_file("contact", reexport, tmp_path / "o.csv", settings())


MODIFIED = "(Do Not Modify) Modified On"
CELLS = st.sampled_from([
    "", "  ", "not a date", "6/18/2021 3:04 PM", "6/19/2021", "12/31/2020 11:59 PM", "1/2/2022 1:00 AM",
    "2021-06-19T23:30:00-09:00", "2021-06-20T01:00:00+14:00", "2021-06-18T10:00:00Z", "31/12/2021 10:00",
])  # fmt: skip


@given(cells=st.lists(CELLS, min_size=1, max_size=30))
@settings_(max_examples=150, deadline=None)
def test_the_newest_modified_on_is_the_newest_cell(cells):
    """Found without parsing every cell, it is still the newest of them all."""
    import pyarrow as pa

    from migration.engine.files.reading import Batch
    from migration.engine.step2.inspect import _modified_on, _newest_in

    batch = Batch(0, len(cells), arrow=pa.record_batch([pa.array(cells, pa.string())], names=["c0"]))
    parsed = [when for c in cells if (when := _modified_on(c)) is not None]
    assert _newest_in(batch, 0, None) == (max(parsed) if parsed else None)


def test_it_shows_the_newest_modified_on_of_a_csv_export(tmp_path):
    rows = order_rows(3)
    for r, when in zip(rows, ["6/18/2021 3:04 PM", "7/1/2021 9:00 AM", ""], strict=True):
        r[2] = when
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    assert ORDER_HEADERS[2] == MODIFIED
    assert inspect_file(src).modified_on_newest == "2021-07-01T00:00+00:00"
