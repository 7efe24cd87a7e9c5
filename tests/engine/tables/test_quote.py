"""Quote (tables/quote.py): as order, from Quote ID and Potential Customer."""

from ..helpers import (
    column,
    guid,
    read_csv,
    run,
    write_csv,
)


def test_it_sets_quote_targets_from_quote_id_and_potential_customer(tmp_path):
    headers = ["(Do Not Modify) Quote", "Quote ID", "Potential Customer", "Requested Delivery Date"]
    src = write_csv(tmp_path / "q.csv", headers, [[guid(1), "QUO-1", "Litware", "2020-12-01"]])
    _, out = run(tmp_path, "quote", src)
    rows = read_csv(out)
    assert column(rows, "Quote Number") == ["QUO-1"]
    assert column(rows, "Invoice Customer") == ["Litware"]
    assert column(rows, "Requested Receipt Date") == ["2020-12-01T00:00:00Z"]
