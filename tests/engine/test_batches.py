"""Behaviour across batch boundaries (small batches stand in for million-row files)."""

import pytest

from migration.engine import reading

from .helpers import ORDER_HEADERS, codes, column, order_rows, read_csv, run, write_csv, write_xlsx


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(reading, "CSV_BLOCK_BYTES", 256)
    monkeypatch.setattr(reading, "XLSX_BATCH_ROWS", 2)


def _rows_needing_a_rescan(n: int = 12):
    """Only the last row settles the date order (day first); Modified On does not help."""
    rows = order_rows(n)
    for r in rows:
        r[2] = ""
        r[6] = "01/02/2020"
    rows[-1][6] = "25/12/2020"
    return rows


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_it_decides_auto_from_a_later_batch(tmp_path, small_batches, ext):
    rows = _rows_needing_a_rescan()
    writer = write_csv if ext == "csv" else write_xlsx
    src = writer(tmp_path / f"order.{ext}", ORDER_HEADERS, rows)
    report, out = run(tmp_path, "order", src)
    dates = column(read_csv(out), "Requested Receipt Date")
    assert dates[0] == "2020-02-01T00:00:00Z" and dates[-1] == "2020-12-25T00:00:00Z"
    assert report.date_order == "dmy"


def test_it_reports_a_later_contradiction_as_bad_dates(tmp_path, small_batches):
    rows = order_rows(12)
    rows[0][6] = "12/25/2020"  # month first: decided by the first batch
    rows[-1][6] = "25/12/2020"
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    report, _ = run(tmp_path, "order", src)
    assert (12, "bad_date") in codes(report)


def test_it_finds_duplicates_across_batches_and_numbers_rows_globally(tmp_path, small_batches):
    rows = order_rows(12)
    rows[11][3] = rows[0][3]
    rows[7][3] = "X" * 25
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    report, out = run(tmp_path, "order", src)
    assert codes(report) == [(8, "sales_order_number_too_long"), (12, "duplicate_key")]
    assert [r[:10] for r in read_csv(out)] == [ORDER_HEADERS, *rows]


def test_it_reports_progress_for_every_batch(tmp_path, small_batches):
    from migration.engine import transform_file

    from .helpers import settings

    src = write_xlsx(tmp_path / "order.xlsx", ORDER_HEADERS, order_rows(5))
    calls = []
    transform_file("order", src, tmp_path / "o.xlsx", settings(), progress=lambda d, t: calls.append((d, t)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
