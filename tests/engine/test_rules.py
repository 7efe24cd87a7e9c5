"""Rules every table shares: company of the row, formula-like text, text caches, dates by parts."""

from migration.engine import CompanyRule

from .helpers import (
    ORDER_HEADERS,
    codes,
    column,
    guid,
    order_rows,
    read_csv,
    run,
    settings,
    write_csv,
    write_xlsx,
)

ACCOUNT_HEADERS = ["(Do Not Modify) Account", "Account Name", "Account Number", "Main Phone"]


def test_it_allows_the_same_account_number_in_two_companies(tmp_path):
    headers = [*ACCOUNT_HEADERS, "Owning Business Unit"]
    src = write_csv(
        tmp_path / "a.csv",
        headers,
        [
            [guid(1), "C", "ACC-1", "", "US"],
            [guid(2), "D", "ACC-1", "", "DE"],
            [guid(3), "E", "ACC-3", "", "FR"],
        ],
    )
    rule = CompanyRule("owning business unit", {"us": "USMF", "DE": "DEMF"})
    report, out = run(tmp_path, "account", src, company_rule=rule)
    rows = read_csv(out)
    assert column(rows, "Company") == ["USMF", "DEMF", "USMF"]
    assert codes(report) == [(3, "company_not_mapped")]


def test_an_export_without_the_company_rules_column_takes_the_default_company_and_counts_its_rows(
    tmp_path,
):
    src = write_csv(
        tmp_path / "a.csv", ACCOUNT_HEADERS, [[guid(1), "C", "ACC-1", ""], [guid(2), "D", "ACC-2", ""]]
    )
    report, out = run(tmp_path, "account", src, company_rule=CompanyRule("Business Unit", {"x": "DEMF"}))
    assert column(read_csv(out), "Company") == ["USMF", "USMF"]
    assert report.summary()["company_rule_missing"] == {"Business Unit": 2}


def test_the_company_rule_reads_the_column_each_table_names(tmp_path):
    headers = [*ORDER_HEADERS, "Ship To Country"]
    rows = [[*r, country] for r, country in zip(order_rows(2), ["Germany", "France"], strict=True)]
    rule = CompanyRule("Address 1: Country/Region", {"Germany": "DEMF"}, {"order": "Ship To Country"})
    report, out = run(tmp_path, "order", write_csv(tmp_path / "o.csv", headers, rows), company_rule=rule)
    assert column(read_csv(out), "Company") == ["DEMF", "USMF"]
    assert report.summary()["company_rule_missing"] == {}
    assert rule.column_for("account") == "Address 1: Country/Region"


def _orders(tmp_path, rows, csv_headers=ORDER_HEADERS, **kw):
    src = write_csv(tmp_path / "order.csv", csv_headers, rows)
    report, out = run(tmp_path, "order", src, **kw)
    return report, read_csv(out)


def test_it_warns_about_formula_like_text_and_writes_it_as_text(tmp_path):
    rows = order_rows(5)
    for r, name in zip(rows, ["=1+1", "+SUM(A1)", "-5% discount", "@owner", "-12.5"], strict=True):
        r[4] = name
    rows[0][9] = "+1 425 555 0100"  # a phone number is not a formula
    report, out = _orders(tmp_path, rows)
    assert [c for c in codes(report) if c[1] == "formula_like_text"] == [
        (1, "formula_like_text"), (2, "formula_like_text"), (3, "formula_like_text"),
        (4, "formula_like_text"),
    ]  # fmt: skip
    assert column(out, "Name")[:4] == ["=1+1", "+SUM(A1)", "-5% discount", "@owner"]


def test_it_flags_cells_starting_with_a_tab_or_carriage_return(tmp_path):
    rows = order_rows(4)
    for r, name in zip(rows, ["\t=1+1", "\r-12", "\t42", "plain"], strict=True):
        r[4] = name
    report, out = _orders(tmp_path, rows)
    assert [c for c in codes(report) if c[1] == "formula_like_text"] == [
        (1, "formula_like_text"), (2, "formula_like_text"), (3, "formula_like_text"),
    ]  # fmt: skip
    assert column(out, "Name")[:3] == ["\t=1+1", "\r-12", "\t42"]  # the import needs the data exact


def test_it_flags_only_the_formula_like_cell_among_empty_ones(tmp_path):
    """Empty cells next to a formula-like one, and at the end of the file, are not flagged."""
    rows = order_rows(5)
    for r, name in zip(rows, ["", "=1+1", "", "", ""], strict=True):
        r[4] = name
    report, _ = _orders(tmp_path, rows)
    assert [c for c in codes(report) if c[1] == "formula_like_text"] == [(2, "formula_like_text")]


def test_it_flags_tab_starts_in_xlsx_text_cells(tmp_path):
    rows = order_rows(2)
    rows[0][4], rows[1][4] = "\t@cmd", "fine"
    src = write_xlsx(tmp_path / "order.xlsx", ORDER_HEADERS, rows)
    report, _ = run(tmp_path, "order", src)
    assert [c for c in codes(report) if c[1] == "formula_like_text"] == [(1, "formula_like_text")]


def test_xlsx_flags_formula_like_text_cells_but_not_numbers_in_the_same_column(tmp_path):
    """A column of text, of numbers, or of both: only its text cells can be formula-like."""
    rows = order_rows(5)
    for r, name, phone in zip(
        rows, ["=1+1", -12.5, "-5% discount", "plain", 7], [-3, -4.5, 0, 12, -1], strict=True
    ):
        r[4], r[9] = name, phone  # Name mixes text and numbers; column 9 holds only numbers
    rows[4][5] = "@owner"  # a column of text only
    src = write_xlsx(tmp_path / "order.xlsx", ORDER_HEADERS, rows)
    report, _ = run(tmp_path, "order", src)
    issues = report.to_dict()["issues"]
    flagged = {(i["row"], i["column"]) for i in issues if i["code"] == "formula_like_text"}
    assert {(row, col) for row, col in flagged if col in ("Name", "Customer", "Ship To Country/Region")} == {
        (1, "Name"), (3, "Name"), (5, "Customer"),
    }  # fmt: skip


def test_it_does_not_claim_a_csv_holds_formula_like_text_as_text(tmp_path):
    rows = order_rows(1)
    rows[0][4] = "=1+1"
    report, _ = _orders(tmp_path, rows)
    message = next(i["message"] for i in report.issues.iter_dicts() if i["code"] == "formula_like_text")
    assert "written as text" not in message and "xlsx" in message


def test_it_maps_texts_the_same_past_the_cache_limit(monkeypatch):
    import pyarrow as pa

    from migration.engine.rules.textmap import TextCache, map_text

    monkeypatch.setattr(TextCache, "LIMIT", 2)
    cache = TextCache()
    first = map_text(pa.array(["a", "b", "a"]), str.upper, cache)
    later = map_text(pa.array(["c", "a", "d"]), str.upper, cache)
    assert first.to_pylist() == ["A", "B", "A"] and later.to_pylist() == ["C", "A", "D"]


def test_it_parses_date_times_by_parts_the_same_as_whole(monkeypatch):
    import pyarrow as pa

    from migration.engine.rules import rows as rules
    from migration.engine.rules.dates import DateOrder
    from migration.engine.rules.layout import resolve_layout
    from migration.engine.rules.report import IssueLog
    from migration.engine.tables import table_for

    cells = [
        "3/27/2020", "3/27/2020 12:00 AM", "3/27/2020 13:00 PM", "2020-03-27T10:00:00Z", "",
        "  ", "27/03/2020", "3/27/2020 25:00", "soon", "2020-03-27 10:00", "3/27/2020x", "2020-03-27T",
    ]  # fmt: skip
    order = table_for("order")
    ctx = rules.Context(
        order, resolve_layout(order, ["Order ID", "Customer"]), settings(), IssueLog(), DateOrder("mdy")
    )
    whole = rules.iso_dates(ctx, pa.array(cells), "mdy").to_pylist()
    monkeypatch.setattr(rules, "DISTINCT_DATES_PER_BATCH", 0)
    by_parts = rules.iso_dates(ctx, pa.array(cells), "mdy").to_pylist()
    assert whole == by_parts
    assert whole[:5] == ["2020-03-27T00:00:00Z"] * 2 + [None, "2020-03-27T00:00:00Z", ""]


def test_it_counts_every_formula_like_cell_it_writes_not_only_those_it_read(tmp_path):
    """The account number as read, its copy as party number, and a setting: three cells."""
    src = tmp_path / "account.csv"
    headers = ["(Do Not Modify) Account", "Account Name", "Account Number"]
    write_csv(src, headers, [["8b17e0df-4648-07d4-fe18-4b2a690b4981", "Contoso", "=1+2"]])
    report, _ = run(tmp_path, "account", src, customer_group="@SUM(A1)")
    flagged = sorted(i["column"] for i in report.issues.iter_dicts() if i["code"] == "formula_like_text")
    assert flagged == ["Account Number", "Customer Group Id", "Party Number"]
    assert report.issues.counts["formula_like_text"] == 3
