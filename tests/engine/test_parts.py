"""Real-size exports: parts, per-legal-entity settings, lines' companies, relationship type rule."""

import csv
import io
import json

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migration.engine import (
    CompanyRule,
    EngineError,
    RelationshipTypeRule,
    TransformSettings,
    check_exports,
    find_exports,
    inspect_file,
    transform_file,
    transform_parts,
)
from migration.engine.rules.report import ISSUE_COLUMNS

from .helpers import ORDER_HEADERS, column, guid, order_rows, read_csv, run_command, write_csv, write_xlsx

USMF = TransformSettings(company="USMF")


def _split(tmp_path, rows, cuts, headers=ORDER_HEADERS, stem="order"):
    paths, start = [], 0
    for n, end in enumerate([*cuts, len(rows)], start=1):
        paths.append(write_csv(tmp_path / f"{stem}_{n}.csv", headers, rows[start:end]))
        start = end
    return paths


def _outs(tmp_path, paths, ext=".csv"):
    (tmp_path / "out").mkdir(exist_ok=True)
    return [tmp_path / "out" / (p.stem + ext) for p in paths]


# --- parts -------------------------------------------------------------------------------


def test_it_transforms_an_export_given_as_parts_with_one_report(tmp_path):
    parts = _split(tmp_path, order_rows(7), [3, 5])
    outs = _outs(tmp_path, parts)
    report = transform_parts("order", parts, outs, USMF, report_path=tmp_path / "r.json")
    assert [len(read_csv(o)) - 1 for o in outs] == [3, 2, 2]
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["rows_in"] == 7
    assert [(p["file"], p["rows"]) for p in written["parts"]] == [
        ("order_1.csv", 3),
        ("order_2.csv", 2),
        ("order_3.csv", 2),
    ]
    assert all(len(p["sha256"]) == 64 for p in written["parts"])
    assert report.errors == 0


def test_it_accepts_parts_whose_headers_differ_only_in_order_and_case(tmp_path):
    rows = order_rows(4)
    first = write_csv(tmp_path / "order_1.csv", ORDER_HEADERS, rows[:2])
    shuffled = [h.upper() for h in reversed(ORDER_HEADERS)]
    second = write_csv(tmp_path / "order_2.xlsx.csv", shuffled, [list(reversed(r)) for r in rows[2:]])
    outs = _outs(tmp_path, [first, second])
    transform_parts("order", [first, second], outs, USMF)
    assert column(read_csv(outs[1]), "Sales Order Number") == ["ORD-0002", "ORD-0003"]


def test_it_refuses_a_part_with_other_columns_and_names_them(tmp_path):
    rows = order_rows(4)
    first = write_csv(tmp_path / "order_1.csv", ORDER_HEADERS, rows[:2])
    other = [*ORDER_HEADERS[:-1], "Owner"]
    second = write_csv(tmp_path / "order_2.csv", other, rows[2:])
    outs = _outs(tmp_path, [first, second])
    with pytest.raises(EngineError) as error:
        transform_parts("order", [first, second], outs, USMF)
    assert "'Owner'" in error.value.message and "'Ship To Country/Region'" in error.value.message
    assert not any(o.exists() for o in outs)


def test_it_leaves_no_output_when_a_later_part_fails(tmp_path):
    rows = order_rows(4)
    first = write_csv(tmp_path / "order_1.csv", ORDER_HEADERS, rows[:2])
    second = tmp_path / "order_2.csv"
    second.write_bytes(b"")  # an empty file: fatal
    outs = _outs(tmp_path, [first, second])
    with pytest.raises(EngineError):
        transform_parts("order", [first, second], outs, USMF)
    assert not any(o.exists() for o in outs)


def test_it_reports_the_same_record_in_two_parts_and_twice_in_one(tmp_path):
    rows = order_rows(4)
    twice = [*rows[:2], rows[1]]
    parts = [
        write_csv(tmp_path / "order_1.csv", ORDER_HEADERS, twice),
        write_csv(tmp_path / "order_2.csv", ORDER_HEADERS, [rows[0], rows[3]]),
    ]
    report = transform_parts("order", parts, _outs(tmp_path, parts), USMF)
    found = [
        (i["file"], i["row"], i["code"])
        for i in report.to_dict()["issues"]
        if i["code"] == "duplicate_record"
    ]
    assert found == [("order_1.csv", 3, "duplicate_record"), ("order_2.csv", 1, "duplicate_record")]
    messages = [i["message"] for i in report.to_dict()["issues"] if i["code"] == "duplicate_key"]
    assert any("first in row 1 of order_1.csv" in m for m in messages)


def test_it_reports_duplicate_keys_across_parts(tmp_path):
    rows = order_rows(4)
    rows[3][0] = guid(99)
    rows[3][3] = "ORD-0000"  # another record with the first one's Order ID
    parts = _split(tmp_path, rows, [2])
    report = transform_parts("order", parts, _outs(tmp_path, parts), USMF)
    dup = [i for i in report.to_dict()["issues"] if i["code"] == "duplicate_key"]
    assert [(i["file"], i["row"]) for i in dup] == [("order_2.csv", 2)]


def test_it_flags_a_part_of_exactly_100000_rows(tmp_path):
    headers = ["(Do Not Modify) Order Product", "Order", "Existing Product"]
    rows = [[guid(i), "Order 1", "Desk"] for i in range(100_001)]
    full = write_csv(tmp_path / "order_products_1.csv", headers, rows[:100_000])
    short = write_csv(tmp_path / "order_products_2.csv", headers, rows[100_000:])
    report = transform_parts("order_products", [full, short], _outs(tmp_path, [full, short]), USMF)
    flagged = [i for i in report.to_dict()["issues"] if i["code"] == "export_limit_reached"]
    assert [(i["file"], i["row"], i["severity"]) for i in flagged] == [
        ("order_products_1.csv", 100_000, "warning")
    ]
    assert "export the rest as another part" in flagged[0]["message"]
    assert inspect_file(full, "order_products").issue_counts.get("export_limit_reached") == 1
    assert "export_limit_reached" not in inspect_file(short, "order_products").issue_counts


def test_it_streams_parts_in_memory_that_does_not_grow_with_their_number(tmp_path):
    rows = order_rows(6_000)
    peaks = {}
    for count in (2, 12):
        folder = tmp_path / str(count)
        folder.mkdir()
        cuts = [len(rows) * k // count for k in range(1, count)]
        parts = _split(folder, rows, cuts)
        seen = []
        transform_parts(
            "order",
            parts,
            _outs(folder, parts),
            USMF,
            progress=lambda *_, seen=seen: seen.append(pa.total_allocated_bytes()),
        )
        peaks[count] = max(seen)
    # Twelve parts hold no more than two do: one part at a time, nothing kept per part.
    assert peaks[12] <= peaks[2] * 1.5 + (1 << 20)


def test_it_reads_xlsx_and_csv_parts_of_one_export(tmp_path):
    rows = order_rows(4)
    first = write_xlsx(tmp_path / "order_1.xlsx", ORDER_HEADERS, rows[:2])
    second = write_csv(tmp_path / "order_2.csv", ORDER_HEADERS, rows[2:])
    outs = [tmp_path / "a.csv", tmp_path / "b.csv"]
    report = transform_parts("order", [first, second], outs, USMF)
    assert report.rows_in == 4
    assert [p["format"] for p in report.parts] == ["xlsx", "csv"]


# --- property: parts are the whole ----------------------------------------------------------


def _global(report, sizes):
    """Issues as (row over the whole export, code, column, message without part names)."""
    offsets = {}
    total = 0
    for part, n in sizes:
        offsets[part] = total
        total += n
    out = []
    for i in report.to_dict()["issues"]:
        row = i["row"] + offsets.get(i.get("file"), 0)
        out.append((row, i["code"], i["column"], i["guid"]))
    return sorted(out)


ROW = st.tuples(
    st.integers(0, 5),  # record: a repeat is a duplicate record
    st.integers(0, 5),  # Order ID: a repeat is a duplicate key
    st.sampled_from(["3/27/2020", "", "bad", "12/31/2021"]),
    st.sampled_from(["Germany", "=cmd", ""]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=25), data=st.data())
def test_it_gives_the_same_rows_and_issues_however_the_export_is_split(tmp_path_factory, rows, data):
    folder = tmp_path_factory.mktemp("split")
    body = [
        [guid(r), "ck", "1/3/2021", f"ORD-{k}", f"Order {k}", "Contoso", d, "", "", c] for r, k, d, c in rows
    ]
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=4)))
    cuts = [c for c in cuts if 0 < c < len(body)]
    whole = write_csv(folder / "whole.csv", ORDER_HEADERS, body)
    settings_ = TransformSettings(company="USMF", date_order="mdy")
    one = transform_file("order", whole, folder / "whole_out.csv", settings_)
    parts = _split(folder, body, cuts)
    outs = _outs(folder, parts)
    many = transform_parts("order", parts, outs, settings_)
    joined = [row for o in outs for row in read_csv(o)[1:]]
    assert joined == read_csv(folder / "whole_out.csv")[1:]
    sizes = [(p.name, n) for p, n in zip(parts, [len(read_csv(o)) - 1 for o in outs], strict=True)]
    assert _global(many, sizes) == _global(one, [])
    assert many.issues.counts == one.issues.counts


# --- per legal entity ------------------------------------------------------------------------


ACCOUNT_HEADERS = [
    "(Do Not Modify) Account",
    "Account Name",
    "Account Number",
    "Owning Business Unit",
    "Kind",
]


def test_it_gives_each_company_its_own_customer_group_and_language(tmp_path):
    accounts = write_csv(
        tmp_path / "account.csv",
        ACCOUNT_HEADERS,
        [[guid(1), "A", "C1", "US unit", "Customer"], [guid(2), "B", "C2", "DE unit", "Customer"]],
    )
    rule = CompanyRule("Owning Business Unit", {"US unit": "USMF", "DE unit": "DEMF"})
    run = TransformSettings(
        company="USMF", company_rule=rule, companies={"DEMF": {"customer_group": "20", "language": "de"}}
    )
    transform_file("account", accounts, tmp_path / "a.csv", run)
    assert column(read_csv(tmp_path / "a.csv"), "Customer Group Id") == ["10", "20"]
    orders = write_csv(
        tmp_path / "order.csv",
        [*ORDER_HEADERS, "Owning Business Unit"],
        [[*r, unit] for r, unit in zip(order_rows(2), ["US unit", "DE unit"], strict=True)],
    )
    transform_file("order", orders, tmp_path / "o.csv", run)
    assert column(read_csv(tmp_path / "o.csv"), "Language") == ["en-us", "de"]


def test_it_refuses_an_unknown_language_for_a_company():
    with pytest.raises(EngineError, match="language of DEMF"):
        TransformSettings(company="USMF", companies={"DEMF": {"language": "klingon"}})


LINE_HEADERS = ["(Do Not Modify) Order Product", "Order", "Existing Product"]


def test_it_gives_lines_the_company_of_their_order(tmp_path):
    orders = write_csv(
        tmp_path / "order.csv",
        [*ORDER_HEADERS, "Owning Business Unit"],
        [[*r, unit] for r, unit in zip(order_rows(2), ["US unit", "DE unit"], strict=True)],
    )
    lines = write_csv(
        tmp_path / "order_products.csv",
        LINE_HEADERS,
        [[guid(10), "Order 1", "Desk"], [guid(11), "ORD-0000", "Chair"], [guid(12), "Order 9", "Lamp"]],
    )
    run = TransformSettings(
        company="USMF",
        company_rule=CompanyRule("Owning Business Unit", {"US unit": "USMF", "DE unit": "DEMF"}),
    )
    out = tmp_path / "lines_out.csv"
    report = transform_parts("order_products", [lines], [out], run, header_paths=[orders])
    assert column(read_csv(out), "Company") == ["DEMF", "USMF", "USMF"]
    issues = [(i["row"], i["code"], i["severity"]) for i in report.to_dict()["issues"]]
    assert issues == [(3, "header_not_found", "warning")]


def test_it_matches_lines_to_their_quote_by_guid(tmp_path):
    quotes = write_csv(
        tmp_path / "quote.csv",
        ["(Do Not Modify) Quote", "Quote ID", "Name", "Potential Customer", "Unit"],
        [[guid(1), "Q-1", "Quote 1", "Contoso", "DE"]],
    )
    lines = write_csv(
        tmp_path / "quote_products.csv",
        ["(Do Not Modify) Quote Product", "Quote", "Existing Product"],
        [[guid(5), "{" + guid(1).upper() + "}", "Desk"]],
    )
    run = TransformSettings(company="USMF", company_rule=CompanyRule("Unit", {"DE": "DEMF"}))
    out = tmp_path / "q.csv"
    transform_parts("quote_products", [lines], [out], run, header_paths=[quotes])
    assert column(read_csv(out), "Company") == ["DEMF"]


def test_it_takes_the_relationship_type_from_a_column_through_a_map(tmp_path):
    accounts = write_csv(
        tmp_path / "account.csv",
        ACCOUNT_HEADERS,
        [
            [guid(1), "A", "C1", "", "Client"],
            [guid(2), "B", "C2", "", "Vendor"],
            [guid(3), "C", "C3", "", "?"],
        ],
    )
    kind = RelationshipTypeRule("Kind", {"client": "customer", "VENDOR": "Vendor"})
    report = transform_file(
        "account",
        accounts,
        tmp_path / "a.csv",
        TransformSettings(company="USMF", relationship_type_rule=kind),
    )
    assert column(read_csv(tmp_path / "a.csv"), "Relationship Type") == ["Customer", "Vendor", "Customer"]
    assert [(i["row"], i["code"]) for i in report.to_dict()["issues"]] == [
        (3, "relationship_type_not_mapped")
    ]


def test_it_refuses_a_relationship_type_rule_whose_column_is_missing(tmp_path):
    accounts = write_csv(tmp_path / "account.csv", ACCOUNT_HEADERS, [[guid(1), "A", "C1", "", "Client"]])
    kind = RelationshipTypeRule("Category", {"client": "Customer"})
    with pytest.raises(EngineError, match="'Category'"):
        transform_file(
            "account",
            accounts,
            tmp_path / "a.csv",
            TransformSettings(company="USMF", relationship_type_rule=kind),
        )
    assert not (tmp_path / "a.csv").exists()


# --- export checks ---------------------------------------------------------------------------


def test_it_checks_a_table_given_in_parts_found_by_name_or_headers(tmp_path):
    rows = order_rows(5)
    write_csv(tmp_path / "order_1.csv", ORDER_HEADERS, rows[:2])
    write_csv(tmp_path / "order_2.csv", ORDER_HEADERS, [*rows[2:], rows[0]])
    write_csv(tmp_path / "export (3).csv", ORDER_HEADERS, [order_rows(6)[5]])  # found by its headers
    found = find_exports(tmp_path)
    assert [p.rsplit("/", 1)[-1] for p in found["order"]] == ["export (3).csv", "order_1.csv", "order_2.csv"]
    result = check_exports(found, company="USMF")
    codes = {f.code for f in result.findings}
    assert {"duplicate_record", "duplicate_key"} <= codes
    assert result.rows == {"USMF": {"order": 7}}
    assert [p["rows"] for p in result.parts["order"]] == [1, 2, 4]


def test_it_names_a_table_whose_required_p2c_columns_are_missing(tmp_path):
    contacts = write_csv(
        tmp_path / "contact.csv", ["(Do Not Modify) Contact", "Full Name"], [[guid(1), "Ann"]]
    )
    result = check_exports({"contact": [contacts]}, company="USMF", expect_all=False)
    [finding] = result.findings
    assert finding.severity == "error"
    assert "Contact Number" in finding.message and "Is Active Customer" in finding.message


def test_it_counts_lines_for_the_company_of_their_order(tmp_path):
    orders = write_csv(
        tmp_path / "order.csv",
        [*ORDER_HEADERS, "Unit"],
        [[*r, u] for r, u in zip(order_rows(2), ["US", "DE"], strict=True)],
    )
    lines = write_csv(tmp_path / "lines.csv", LINE_HEADERS, [[guid(9), "Order 1", "Desk"]])
    rule = CompanyRule("Unit", {"US": "USMF", "DE": "DEMF"})
    result = check_exports(
        {"order": orders, "order_products": [lines]}, company="USMF", company_rule=rule, expect_all=False
    )
    assert result.rows == {"USMF": {"order": 1}, "DEMF": {"order": 1, "order_products": 1}}


def test_it_says_the_accounts_figure_is_guidance(tmp_path, monkeypatch):
    from migration.engine.step2 import check

    monkeypatch.setattr(check, "SYNC_LIMIT_ACCOUNTS", 1)
    accounts = write_csv(
        tmp_path / "account.csv",
        ACCOUNT_HEADERS,
        [[guid(1), "A", "C1", "", ""], [guid(2), "B", "C2", "", ""]],
    )
    result = check_exports({"account": accounts}, company="USMF", expect_all=False)
    [finding] = [f for f in result.findings if f.code == "over_sync_limit"]
    assert "guidance figure, not a hard limit" in finding.message


# --- command line ---------------------------------------------------------------------------


def test_it_writes_one_output_per_part_into_a_folder_from_the_command_line(tmp_path, capsys):
    parts = _split(tmp_path, order_rows(5), [2])
    out = tmp_path / "result"
    code = run_command(
        "p2c_transform", "order", *map(str, parts), str(out), "--company", "USMF", "--format", "xlsx"
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["order_1.xlsx", "order_2.xlsx", "order_report.json"]
    report = json.loads((out / "order_report.json").read_text())
    assert [p["rows"] for p in report["parts"]] == [2, 3]
    assert "5 rows from 2 parts" in capsys.readouterr().out


def test_it_takes_per_company_and_header_options_from_the_command_line(tmp_path):
    orders = write_csv(
        tmp_path / "order.csv",
        [*ORDER_HEADERS, "Unit"],
        [[*r, u] for r, u in zip(order_rows(2), ["US", "DE"], strict=True)],
    )
    lines = write_csv(tmp_path / "lines.csv", LINE_HEADERS, [[guid(9), "Order 1", "Desk"]])
    out = tmp_path / "lines_out.csv"
    args = [
        "--company",
        "USMF",
        "--company-column",
        "Unit",
        "--company-map",
        "US=USMF",
        "--company-map",
        "DE=DEMF",
    ]
    assert (
        run_command(
            "p2c_transform", "order_products", str(lines), str(out), *args, "--header-export", str(orders)
        )
        == 0
    )
    assert column(read_csv(out), "Company") == ["DEMF"]
    assert (
        run_command(
            "p2c_transform",
            "order",
            str(orders),
            str(tmp_path / "o.csv"),
            *args,
            "--company-language",
            "DEMF=de",
        )
        == 0
    )
    assert column(read_csv(tmp_path / "o.csv"), "Language") == ["en-us", "de"]


def test_the_issue_list_holds_every_issue_of_the_report_in_its_order(tmp_path):
    """The issue list CSV, written from arrow tables, says what the report's issues say."""
    rows = order_rows(6)
    rows[3][0] = guid(99)
    rows[3][3] = "ORD-0000"  # a duplicate key across parts
    rows[1][4], rows[4][4] = "=1+1", "@cmd"  # formula-like text, one in each part
    parts = _split(tmp_path, rows, [3])
    report = transform_parts("order", parts, _outs(tmp_path, parts), USMF)
    listed = tmp_path / "issues.csv"
    assert report.write_issues_csv(listed) == len(report.issues) == 3
    text = listed.read_bytes()
    assert text.startswith(b"\xef\xbb\xbf") and b"\r\n" in text
    got = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
    want = [
        {c: "" if i.get(c) is None else str(i[c]) for c in ISSUE_COLUMNS} for i in report.issues.iter_dicts()
    ]
    assert got == want
    assert {i["code"] for i in got} == {"duplicate_key", "formula_like_text"}
    assert {i["file"] for i in got} == {p.name for p in parts}
