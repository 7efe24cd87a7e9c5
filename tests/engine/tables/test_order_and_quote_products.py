"""Order products and quote products: each line takes the company."""

import pytest

from ..helpers import (
    guid,
    read_csv,
    run,
    write_csv,
)


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
