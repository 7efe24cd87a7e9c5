"""Per table, per setting and per issue code (p2c-rules.md)."""

import pytest

from migration.engine import CompanyRule, EngineError

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
)

ACCOUNT_HEADERS = ["(Do Not Modify) Account", "Account Name", "Account Number", "Main Phone"]
CONTACT_HEADERS = [
    "(Do Not Modify) Contact",
    "Full Name",
    "Contact Number",
    "Is Active Customer",
    "Company Name",
]


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


def test_it_refuses_a_company_rule_column_that_is_missing(tmp_path):
    src = write_csv(tmp_path / "a.csv", ACCOUNT_HEADERS, [[guid(1), "C", "ACC-1", ""]])
    with pytest.raises(EngineError, match="company rule"):
        run(tmp_path, "account", src, company_rule=CompanyRule("Business Unit", {"x": "USMF"}))


def _contacts(tmp_path, rows, **kw):
    src = write_csv(tmp_path / "contact.csv", CONTACT_HEADERS, rows)
    report, out = run(tmp_path, "contact", src, **kw)
    return report, read_csv(out)


def test_it_sets_contact_targets_for_active_and_inactive_contacts(tmp_path):
    report, rows = _contacts(
        tmp_path,
        [[guid(1), "Ann", "CON-1", "Yes", "Contoso"], [guid(2), "Bob", "CON-2", "no", "Contoso"]],
        customer_group="30",
    )
    # "Contact Number" is source and target at once with display headers: one column, unchanged.
    assert rows[0] == [
        *CONTACT_HEADERS,
        "Company", "Sellable", "Customer Group Id", "Contact For", "Party Number",
        "Account Number/Contact Person ID",
    ]  # fmt: skip
    assert rows[1][5:] == ["USMF", "Yes", "30", "", "CON-1", "CON-1"]
    assert rows[2][5:] == ["USMF", "No", "", "Customer", "CON-2", "CON-2"]
    assert report.columns_filled == ["Contact Number"]
    assert codes(report) == []


@pytest.mark.parametrize("value", ["Yes", "TRUE", "1", "y", " Y "])
def test_it_reads_yes_values(tmp_path, value):
    _, rows = _contacts(tmp_path, [[guid(1), "Ann", "CON-1", value, ""]])
    assert column(rows, "Sellable") == ["Yes"]


@pytest.mark.parametrize("value", ["No", "false", "0", "N"])
def test_it_reads_no_values(tmp_path, value):
    _, rows = _contacts(tmp_path, [[guid(1), "Ann", "CON-1", value, ""]])
    assert column(rows, "Sellable") == ["No"]


@pytest.mark.parametrize("value", ["", "maybe"])
def test_it_reports_bad_yes_no_and_leaves_its_targets_empty(tmp_path, value):
    report, rows = _contacts(tmp_path, [[guid(1), "Ann", "CON-1", value, ""]])
    assert codes(report) == [(1, "bad_yes_no")]
    assert [column(rows, c) for c in ("Sellable", "Customer Group Id", "Contact For")] == [[""], [""], [""]]
    assert column(rows, "Party Number") == ["CON-1"]


def test_it_reports_missing_contact_numbers(tmp_path):
    report, rows = _contacts(tmp_path, [[guid(1), "Ann", "", "Yes", ""]])
    assert codes(report) == [(1, "missing_contact_number")]
    assert column(rows, "Party Number") == [""]


def test_it_appends_the_dual_write_contact_number_with_logical_headers(tmp_path):
    headers = ["contactid", "fullname", "msdynce_contactnumber", "msdynce_isactivecustomer"]
    src = write_csv(tmp_path / "c.csv", headers, [[guid(1), "Ann", "CON-1", "1"]])
    _, out = run(tmp_path, "contact", src, headers="logical")
    rows = read_csv(out)
    assert rows[0][4:] == [
        "msdyn_company", "msdyn_sellable", "msdyn_customergroupid", "msdyn_contactfor",
        "msdyn_contactnumber", "msdyn_partynumber", "msdyn_contactpersonid",
    ]  # fmt: skip
    assert rows[1][4:] == ["USMF", "Yes", "10", "", "CON-1", "CON-1", "CON-1"]


def _orders(tmp_path, rows, csv_headers=ORDER_HEADERS, **kw):
    src = write_csv(tmp_path / "order.csv", csv_headers, rows)
    report, out = run(tmp_path, "order", src, **kw)
    return report, read_csv(out)


def test_it_sets_the_order_targets(tmp_path):
    report, rows = _orders(tmp_path, order_rows(1), language="de", order_type="Item based")
    assert rows[0][len(ORDER_HEADERS) :] == [
        "Company", "Sales Order Number", "Invoice Customer", "Requested Receipt Date", "Language",
        "Order Type",
    ]  # fmt: skip
    assert rows[1][len(ORDER_HEADERS) :] == [
        "USMF",
        "ORD-0000",
        "Contoso Ltd",
        "2020-03-27T00:00:00Z",
        "de",
        "Item based",
    ]
    assert column(rows, "Ship To Country/Region") == ["Germany"]
    assert report.columns_filled == ["Ship To Country/Region"]


def test_it_sets_quote_targets_from_quote_id_and_potential_customer(tmp_path):
    headers = ["(Do Not Modify) Quote", "Quote ID", "Potential Customer", "Requested Delivery Date"]
    src = write_csv(tmp_path / "q.csv", headers, [[guid(1), "QUO-1", "Litware", "2020-12-01"]])
    _, out = run(tmp_path, "quote", src)
    rows = read_csv(out)
    assert column(rows, "Quote Number") == ["QUO-1"]
    assert column(rows, "Invoice Customer") == ["Litware"]
    assert column(rows, "Requested Receipt Date") == ["2020-12-01T00:00:00Z"]


def test_it_takes_the_first_non_empty_date_of_the_chain(tmp_path):
    rows = order_rows(3)
    rows[0][6:9] = ["", "4/5/2020", "4/6/2020"]
    rows[1][6:9] = ["", "", "12/31/2019 11:30 PM"]
    rows[2][6:9] = ["", "", ""]
    report, out = _orders(tmp_path, rows)
    assert column(out, "Requested Receipt Date") == ["2020-04-05T00:00:00Z", "2019-12-31T00:00:00Z", ""]
    assert codes(report) == [(3, "no_receipt_date")]
    assert report.to_dict()["issues"][0]["severity"] == "warning"


def test_it_reads_day_first_dates_with_dmy_and_auto(tmp_path):
    rows = order_rows(2)
    rows[0][6] = "27/03/2020"
    rows[1][6] = "01/02/2020"
    for order in ("dmy", "auto"):
        report, out = _orders(tmp_path, [r[:] for r in rows], date_order=order)
        assert column(out, "Requested Receipt Date") == ["2020-03-27T00:00:00Z", "2020-02-01T00:00:00Z"]
        assert report.date_order == "dmy"


def test_it_reads_ymd_dates(tmp_path):
    rows = order_rows(1)
    rows[0][6] = "2020/03/27"
    _, out = _orders(tmp_path, rows, date_order="ymd")
    assert column(out, "Requested Receipt Date") == ["2020-03-27T00:00:00Z"]


def test_it_refuses_auto_when_the_file_cannot_tell(tmp_path):
    rows = order_rows(2)
    for r in rows:
        r[2] = ""  # Modified On would settle it
    rows[0][6], rows[1][6] = "01/02/2020", "03/04/2020"
    with pytest.raises(EngineError, match="cannot tell the date order"):
        _orders(tmp_path, rows)
    assert not (tmp_path / "out.csv").exists()


def test_it_refuses_auto_when_the_file_mixes_orders(tmp_path):
    rows = order_rows(2)
    rows[0][6], rows[1][6] = "27/01/2020", "01/27/2020"
    with pytest.raises(EngineError, match="both month-first and day-first"):
        _orders(tmp_path, rows)


def test_it_reports_bad_dates_without_guessing(tmp_path):
    rows = order_rows(2)
    rows[0][6] = "soon"
    rows[1][6] = "27/03/2020"
    report, out = _orders(tmp_path, rows, date_order="mdy")
    assert codes(report) == [(1, "bad_date"), (2, "bad_date")]
    assert column(out, "Requested Receipt Date") == ["", ""]


def test_it_reports_order_ids_longer_than_20_and_still_copies_them(tmp_path):
    rows = order_rows(1)
    rows[0][3] = "ORD-01001-ZZDTTF-REVISION-0002"
    report, out = _orders(tmp_path, rows)
    assert codes(report) == [(1, "sales_order_number_too_long")]
    assert column(out, "Sales Order Number") == ["ORD-01001-ZZDTTF-REVISION-0002"]


def test_it_reports_duplicate_order_ids(tmp_path):
    rows = order_rows(2)
    rows[1][3] = rows[0][3]
    report, _ = _orders(tmp_path, rows)
    assert codes(report) == [(2, "duplicate_key")]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("keep", ["Germany", "Türkiye", "USA", "Atlantis", ""]),
        ("iso2", ["DE", "TR", "US", "Atlantis", ""]),
        ("dualwrite", ["germany", "türkiye", "united states", "Atlantis", ""]),
    ],
)
def test_it_converts_the_ship_to_country(tmp_path, mode, expected):
    rows = order_rows(5)
    for r, country in zip(rows, ["Germany", "Türkiye", "USA", "Atlantis", ""], strict=True):
        r[9] = country
    report, out = _orders(tmp_path, rows, country=mode)
    assert column(out, "Ship To Country/Region") == expected
    assert codes(report) == ([] if mode == "keep" else [(4, "country_not_converted")])


def test_it_reports_dualwrite_countries_outside_the_value_map(tmp_path):
    rows = order_rows(1)
    rows[0][9] = "Italy"
    report, out = _orders(tmp_path, rows, country="dualwrite")
    assert codes(report) == [(1, "country_not_converted")]
    assert column(out, "Ship To Country/Region") == ["Italy"]


def test_it_writes_logical_headers(tmp_path):
    _, rows = _orders(tmp_path, order_rows(1), headers="logical")
    assert rows[0][len(ORDER_HEADERS) :] == [
        "msdyn_company", "msdyn_salesordernumber", "msdyn_invoicecustomerid", "msdyn_requestedreceiptdate",
        "msdyn_language", "msdyn_ordertype",
    ]  # fmt: skip


@pytest.mark.parametrize("table", ["order_products", "quote_products"])
def test_it_sets_the_company_of_lines(tmp_path, table):
    src = write_csv(
        tmp_path / "l.csv", ["(Do Not Modify) Line", "Existing Product", "Quantity"], [[guid(1), "Desk", "2"]]
    )
    report, out = run(tmp_path, table, src, company="FRRT")
    assert read_csv(out) == [
        ["(Do Not Modify) Line", "Existing Product", "Quantity", "Company"],
        [guid(1), "Desk", "2", "FRRT"],
    ]
    assert report.counts == {"Company": 1}


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


@pytest.mark.parametrize("table", ["invoice", "invoice_products", "products"])
def test_it_explains_why_one_way_tables_are_not_transformed(tmp_path, table):
    src = write_csv(tmp_path / "i.csv", ["(Do Not Modify) Invoice", "Invoice ID"], [[guid(1), "INV-1"]])
    with pytest.raises(EngineError, match="Finance and Operations"):
        run(tmp_path, table, src)


def test_it_maps_texts_the_same_past_the_cache_limit(monkeypatch):
    import pyarrow as pa

    from migration.engine.rules import TextCache, map_text

    monkeypatch.setattr(TextCache, "LIMIT", 2)
    cache = TextCache()
    first = map_text(pa.array(["a", "b", "a"]), str.upper, cache)
    later = map_text(pa.array(["c", "a", "d"]), str.upper, cache)
    assert first.to_pylist() == ["A", "B", "A"] and later.to_pylist() == ["C", "A", "D"]


def test_it_parses_date_times_by_parts_the_same_as_whole(monkeypatch):
    import pyarrow as pa

    from migration.engine import rules
    from migration.engine.dates import DateOrder
    from migration.engine.layout import resolve_layout
    from migration.engine.report import IssueLog
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
