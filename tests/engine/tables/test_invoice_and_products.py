"""Invoice, invoice products, products: uploaded and checked, never transformed."""

import pytest

from migration.engine import EngineError

from ..helpers import guid, run, write_csv


@pytest.mark.parametrize("table", ["invoice", "invoice_products", "products"])
def test_it_explains_why_one_way_tables_are_not_transformed(tmp_path, table):
    src = write_csv(tmp_path / "i.csv", ["(Do Not Modify) Invoice", "Invoice ID"], [[guid(1), "INV-1"]])
    with pytest.raises(EngineError, match="Finance and Operations"):
        run(tmp_path, table, src)
