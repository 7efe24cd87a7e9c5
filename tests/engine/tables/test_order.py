"""Order (tables/order.py): its targets, the receipt date chain, the country setting, its issues."""

import pytest

from migration.engine import EngineError

from ..helpers import (
    ORDER_HEADERS,
    codes,
    column,
    order_rows,
    read_csv,
    run,
    write_csv,
)


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


def test_it_takes_the_first_non_empty_date_of_the_chain(tmp_path):
    rows = order_rows(3)
    rows[0][6:9] = ["", "4/5/2020", "4/6/2020"]
    rows[1][6:9] = ["", "", "12/31/2019 11:30 PM"]
    rows[2][6:9] = ["", "", ""]
    report, out = _orders(tmp_path, rows)
    assert column(out, "Requested Receipt Date") == ["2020-04-05T00:00:00Z", "2019-12-31T00:00:00Z", ""]
    assert codes(report) == [(3, "no_receipt_date")]
    assert report.to_dict()["issues"][0]["severity"] == "warning"


def test_it_reports_a_bad_date_in_the_chain_after_the_date_that_won(tmp_path):
    # Every row has its date in the first column: the later columns give no value, but a cell
    # there that is not a date is still reported (once, on its own column).
    rows = order_rows(3)
    rows[0][6:9] = ["4/5/2020", "soon", ""]
    rows[1][6:9] = ["4/6/2020", "", "31/12/2019"]
    rows[2][6:9] = ["4/7/2020", "4/8/2020", "4/9/2020"]
    report, out = _orders(tmp_path, rows, date_order="mdy")
    assert column(out, "Requested Receipt Date") == [
        "2020-04-05T00:00:00Z", "2020-04-06T00:00:00Z", "2020-04-07T00:00:00Z",
    ]  # fmt: skip
    bad = [(i["row"], i["column"]) for i in report.issues.iter_dicts() if i["code"] == "bad_date"]
    assert bad == [(1, "Date Fulfilled"), (2, "Date Submitted")]


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


def test_it_compares_order_ids_without_case_or_surrounding_blanks_in_any_batch(tmp_path, monkeypatch):
    from migration.engine.files import reading

    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 1 << 10)  # many small batches
    rows = order_rows(40)
    rows[0][3], rows[1][3], rows[2][3] = "ORD-AB", "SO 7", "AUFTRAG-Ä1"
    rows[20][3] = "Ord-aB"  # plain ASCII in its batch: lower-cased as such
    rows[30][3] = "  so 7 "  # blanks around, and inside
    rows[38][3] = "auftrag-ä1"  # not ASCII
    rows[39][3] = " "  # blank: never a key
    rows[10][3] = rows[12][3] = ""  # empty, twice: never a key either
    report, _ = _orders(tmp_path, rows)
    assert [c for c in codes(report) if c[1] == "duplicate_key"] == [
        (21, "duplicate_key"), (31, "duplicate_key"), (39, "duplicate_key"),
    ]  # fmt: skip


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


def test_it_writes_no_country_column_when_the_view_has_none_and_says_so(tmp_path):
    headers = ORDER_HEADERS[:-1]
    report, out = _orders(tmp_path, [r[:-1] for r in order_rows(1)], csv_headers=headers, country="iso2")
    assert "Ship To Country/Region" not in out[0]
    assert report.notes == ["the file has no Ship To Country/Region column: no country column was written"]


def test_it_lists_a_rows_issues_number_first_then_dates_then_country(tmp_path):
    rows = order_rows(1)
    rows[0][3], rows[0][6], rows[0][9] = "ORD-" + "9" * 20, "soon", "Atlantis"
    report, _ = _orders(tmp_path, rows, country="iso2", date_order="mdy")
    assert codes(report) == [
        (1, "sales_order_number_too_long"),
        (1, "bad_date"),
        (1, "country_not_converted"),
    ]
