"""Behaviour across batch boundaries (small batches stand in for million-row files)."""

import pytest

from migration.engine.files import reading

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


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_it_writes_csv_and_xlsx_from_one_pass(tmp_path, small_batches, ext, monkeypatch):
    from migration.engine import transform_file
    from migration.engine.files.reading import CsvSource, XlsxSource

    from .helpers import read_xlsx, settings

    writer = write_csv if ext == "csv" else write_xlsx
    src = writer(tmp_path / f"order.{ext}", ORDER_HEADERS, order_rows(7))
    passes = []
    for source in (CsvSource, XlsxSource):
        read = source.batches
        monkeypatch.setattr(
            source, "batches", lambda self, *a, read=read, **k: passes.append(1) or read(self, *a, **k)
        )
    report = transform_file("order", src, tmp_path / "o.csv", settings(), also_write=[tmp_path / "o.xlsx"])
    assert len(passes) == 1
    as_csv, as_xlsx = read_csv(tmp_path / "o.csv"), read_xlsx(tmp_path / "o.xlsx")
    assert len(as_csv) == len(as_xlsx) == 8 and report.rows_out == 7 and report.output_format == "csv"
    assert column(as_csv, "Sales Order Number") == [str(v) for v in column(as_xlsx, "Sales Order Number")]


def test_it_leaves_no_output_when_one_of_a_pass_fails(tmp_path, small_batches):
    from migration.engine import EngineError, transform_file

    from .helpers import settings

    rows = order_rows(3)
    rows[2][4] = "x" * 40_000  # longer than an xlsx cell holds
    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, rows)
    with pytest.raises(EngineError):
        transform_file("order", src, tmp_path / "o.csv", settings(), also_write=[tmp_path / "o.xlsx"])
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(("o.", ".p2c-"))]


def test_it_reports_bytes_read_forward_to_the_whole_file(tmp_path, small_batches):
    from migration.engine import transform_file

    from .helpers import settings

    src = write_csv(tmp_path / "order.csv", ORDER_HEADERS, order_rows(30))
    seen = []
    transform_file(
        "order", src, tmp_path / "o.csv", settings(), progress_bytes=lambda d, t: seen.append((d, t))
    )
    done = [d for d, _ in seen]
    assert len(seen) > 3 and done == sorted(done) and seen[-1] == (src.stat().st_size, src.stat().st_size)
