"""Step-9 reconciliation: our step-8 output against F&O's data management export."""

import json

import pytest

from migration.engine import EngineError
from migration.engine.step9.reconcile import reconcile_sync

from .helpers import OURS, guid, read_csv, read_xlsx, run_command, write_csv, write_xlsx

FNO = ["CUSTOMERACCOUNT", "DATAAREAID", "PARTYNUMBER", "CUSTOMERGROUPID", "PARTYTYPE", "ORGANIZATIONNAME"]


def _ours(n, company, prefix, rel="Customer", group="10"):
    return [
        [guid(i), "ck", "1/3/2021", f"{prefix}{i:03d}", f"Name {i}", company, rel, group, f"{prefix}{i:03d}"]
        for i in range(n)
    ]


def _fno(rows, company, group="10"):
    return [[r[3], company.lower(), r[8], group, "Organization", r[4]] for r in rows]


@pytest.fixture
def accounts(tmp_path):
    us, de = _ours(5, "USMF", "US"), _ours(3, "DEMF", "DE")
    prospect = [[guid(99), "ck", "1/3/2021", "PR001", "Prospect Ltd", "USMF", "Prospect", "10", "PR001"]]
    ours = write_csv(tmp_path / "account_out.csv", OURS, us + de + prospect)
    fno_rows = _fno(us[:4], "USMF") + _fno(de, "DEMF")
    fno_rows[2][3] = "20"  # US002 arrived in customer group 20
    fno_rows.append(["US900", "usmf", "US900", "10", "Organization", "Not ours"])
    fno_rows.append(["C-0001", "usmf", "C-0001", "10", "Person", "A sellable contact"])
    return ours, fno_rows


def test_it_finds_planted_missing_extra_and_differing_rows_per_company(tmp_path, accounts):
    ours, fno_rows = accounts
    fno = write_csv(tmp_path / "CustomersV3.csv", FNO, fno_rows)
    r = reconcile_sync("account", ours, fno)
    assert not r.ok
    assert r.missing[["company", "key", "row"]].values.tolist() == [["USMF", "US004", 5]]
    assert r.unexpected[["company", "key"]].values.tolist() == [["USMF", "US900"]]
    assert r.differences[["company", "key", "column", "expected", "found"]].values.tolist() == [
        ["USMF", "US002", "customer_group", "10", "20"]
    ]
    counts = {c["company"]: c for c in r.to_dict()["companies"]}
    assert counts["USMF"] == {
        "company": "USMF", "expected": 5, "arrived": 4, "missing": 1, "unexpected": 1, "differing": 1,
        "assigned": 0,
    }  # fmt: skip
    assert counts["DEMF"] == {
        "company": "DEMF", "expected": 3, "arrived": 3, "missing": 0, "unexpected": 0, "differing": 0,
        "assigned": 0,
    }  # fmt: skip


def test_it_expects_only_customers_and_ignores_person_parties(tmp_path, accounts):
    ours, fno_rows = accounts
    r = reconcile_sync("account", ours, write_csv(tmp_path / "f.csv", FNO, fno_rows))
    assert r.filtered_out == 1 and r.totals()["expected"] == 8
    assert "PR001" not in set(r.missing["key"]) and "C-0001" not in set(r.unexpected["key"])


def test_it_combines_parts_with_any_case_headers_and_formats(tmp_path, accounts):
    ours, fno_rows = accounts
    part1 = write_csv(tmp_path / "p1.csv", [h.lower() for h in FNO], fno_rows[:3], delimiter=";")
    reordered = [FNO[i] for i in (1, 0, 2, 3, 4, 5)]
    part2 = write_xlsx(
        tmp_path / "p2.xlsx",
        [h.title() for h in reordered],
        [[r[i] for i in (1, 0, 2, 3, 4, 5)] for r in fno_rows[3:]],
        hidden=0,
    )
    r = reconcile_sync("account", ours, [part1, part2])
    assert r.missing["key"].tolist() == ["US004"]
    assert r.unexpected["key"].tolist() == ["US900"]
    assert r.unexpected["file"].tolist() == ["p2.xlsx"]


def test_it_matches_everything_when_all_arrived(tmp_path):
    rows = _ours(4, "USMF", "US")
    ours = write_csv(tmp_path / "o.csv", OURS, rows)
    r = reconcile_sync("account", ours, write_csv(tmp_path / "f.csv", FNO, _fno(rows, "usmf")))
    assert r.ok and r.totals() == {
        "expected": 4,
        "arrived": 4,
        "missing": 0,
        "unexpected": 0,
        "differing": 0,
        "assigned": 0,
    }


def test_it_reports_a_record_in_the_wrong_company_as_one_difference(tmp_path):
    rows = _ours(2, "USMF", "US")
    fno_rows = _fno(rows, "usmf")
    fno_rows[1][1] = "demf"
    ours = write_csv(tmp_path / "o.csv", OURS, rows)
    r = reconcile_sync("account", ours, write_csv(tmp_path / "f.csv", FNO, fno_rows))
    assert r.missing.empty and r.unexpected.empty
    assert r.differences[["key", "column", "expected", "found"]].values.tolist() == [
        ["US001", "company", "USMF", "DEMF"]
    ]


def test_it_writes_the_missing_rows_in_our_outputs_shape(tmp_path, accounts):
    ours, fno_rows = accounts
    r = reconcile_sync("account", ours, write_csv(tmp_path / "f.csv", FNO, fno_rows))
    out = tmp_path / "missing.csv"
    assert r.write_missing(out) == 1
    rows = read_csv(out)
    assert rows[0] == OURS
    assert rows[1] == read_csv(ours)[5]
    assert r.write_list("differences", tmp_path / "d.csv") == 1
    assert read_csv(tmp_path / "d.csv")[0] == ["company", "key", "column", "expected", "found", "file", "row"]


def test_it_counts_an_output_row_without_key_as_missing(tmp_path):
    rows = _ours(2, "USMF", "US")
    rows[1][3] = ""
    ours = write_csv(tmp_path / "o.csv", OURS, rows)
    r = reconcile_sync("account", ours, write_csv(tmp_path / "f.csv", FNO, _fno(rows[:1], "usmf")))
    assert r.missing[["key", "row"]].values.tolist() == [["", 2]]


def test_it_writes_a_missing_list_of_keyed_and_unkeyed_rows(tmp_path):
    rows = _ours(3, "USMF", "US")
    rows[2][3] = ""
    ours = write_csv(tmp_path / "o.csv", OURS, rows)
    r = reconcile_sync("account", ours, write_csv(tmp_path / "f.csv", FNO, _fno(rows[:1], "usmf")))
    assert r.write_list("missing", tmp_path / "missing.csv") == 2
    assert [row[1] for row in read_csv(tmp_path / "missing.csv")[1:]] == ["US001", ""]
    assert r.to_dict()["ours"]["by_company"] == {"USMF": 3}


def test_it_refuses_an_export_without_the_key_column_naming_what_to_do(tmp_path, accounts):
    ours, _ = accounts
    bad = write_csv(tmp_path / "f.csv", ["ACCOUNT", "DATAAREAID"], [["US000", "usmf"]])
    with pytest.raises(EngineError, match=r"CUSTOMERACCOUNT.*Export the Customers V3"):
        reconcile_sync("account", ours, bad)


def test_it_needs_the_company_unless_given(tmp_path):
    rows = _ours(1, "USMF", "US")
    ours = write_csv(tmp_path / "o.csv", OURS, rows)
    fno = write_csv(tmp_path / "f.csv", ["CUSTOMERACCOUNT", "PARTYNUMBER"], [["US000", "US000"]])
    with pytest.raises(EngineError, match="DATAAREAID"):
        reconcile_sync("account", ours, fno)
    assert reconcile_sync("account", ours, fno, company="usmf").missing.empty


CONTACTS = [
    "(Do Not Modify) Contact", "Full Name", "Company", "Sellable", "Customer Group Id", "Contact For",
    "Contact Number", "Party Number", "Account Number/Contact Person ID",
]  # fmt: skip


def _contacts():
    return [
        [guid(1), "Ann", "USMF", "Yes", "10", "", "C1", "C1", "C1"],
        [guid(2), "Bob", "USMF", "No", "", "Customer", "C2", "C2", "C2"],
        [guid(3), "Cy", "USMF", "Yes", "10", "", "C3", "C3", "C3"],
        [guid(4), "Di", "USMF", "Yes", "10", "", "", "", ""],  # no Contact Person ID: never syncs
    ]


def test_it_reconciles_sellable_contacts_against_customers_v3(tmp_path):
    ours = write_csv(tmp_path / "contact.csv", CONTACTS, _contacts())
    fno = write_csv(tmp_path / "f.csv", FNO, [["C1", "usmf", "C1", "10", "Person", "Ann"]])
    r = reconcile_sync("contact", ours, fno)
    assert r.entity == "Customers V3 (contacts)"
    assert r.missing["key"].tolist() == ["C3"]
    assert r.filtered_out == 2  # Bob is not sellable; Di has no Contact Person ID


def test_it_reconciles_other_contacts_against_contact_persons(tmp_path):
    ours = write_csv(tmp_path / "contact.csv", CONTACTS, _contacts())
    fno = write_csv(
        tmp_path / "f.csv",
        ["contactPersonId", "dataAreaId", "ContactPersonPartyNumber"],
        [["C2", "usmf", "P9"]],
    )
    r = reconcile_sync("contact", ours, fno)
    assert r.entity.startswith("Contact persons")
    assert r.missing.empty
    assert r.differences[["key", "column", "expected", "found"]].values.tolist() == [
        ["C2", "party_number", "C2", "P9"]
    ]


ORDERS = [
    "(Do Not Modify) Order", "Order ID", "Customer", "Company", "Sales Order Number", "Invoice Customer",
    "Requested Receipt Date", "Language", "Order Type",
]  # fmt: skip
FNO_ORDERS = ["SALESORDERNUMBER", "DATAAREAID", "LANGUAGEID", "REQUESTEDRECEIPTDATE"]


def test_it_compares_orders_by_calendar_date_and_language_and_skips_other_types(tmp_path):
    ours = write_csv(
        tmp_path / "order.csv",
        ORDERS,
        [
            [
                guid(1),
                "O1",
                "Contoso",
                "USMF",
                "O1",
                "Contoso",
                "2020-03-27T00:00:00Z",
                "en-us",
                "Item based",
            ],
            [guid(2), "O2", "Contoso", "USMF", "O2", "Contoso", "2020-03-28T00:00:00Z", "de", "Item based"],
            [guid(3), "O3", "Contoso", "USMF", "O3", "Contoso", "", "en-us", "Item based"],
            [guid(4), "S1", "Contoso", "USMF", "S1", "Contoso", "", "en-us", "Service-Maintenance Based"],
        ],
    )
    fno = write_csv(
        tmp_path / "f.csv",
        FNO_ORDERS,
        [
            ["O1", "usmf", "EN-US", "3/27/2020 12:00:00 AM"],
            ["O2", "usmf", "de", "2020-03-29 00:00:00"],
            ["O3", "usmf", "en-us", "1/1/1900 12:00:00 AM"],
        ],
    )
    r = reconcile_sync("order", ours, fno)
    assert r.totals()["expected"] == 3 and r.missing.empty
    assert r.differences[["key", "column", "expected", "found"]].values.tolist() == [
        ["O2", "receipt_date", "2020-03-28T00:00:00Z", "2020-03-29 00:00:00"]
    ]


def test_it_matches_lines_per_order_by_count(tmp_path):
    headers = ["(Do Not Modify) Order Product", "Order ID", "Existing Product", "Company"]
    lines = [[guid(i), o, "Widget", "USMF"] for i, o in enumerate(["O1", "O1", "O2", "O2", "O3"])]
    ours = write_csv(tmp_path / "lines.csv", headers, lines)
    fno_rows = [["O1", "usmf", "1"], ["O1", "usmf", "2"], ["O2", "usmf", "1"], ["O3", "usmf", "1"]]
    fno_rows.append(["O3", "usmf", "2"])
    fno = write_csv(tmp_path / "f.csv", ["SALESORDERNUMBER", "DATAAREAID", "LINENUMBER"], fno_rows)
    r = reconcile_sync("order_products", ours, fno)
    assert r.missing[["key", "row"]].values.tolist() == [["O2", 3], ["O2", 4]]
    assert r.unexpected[["key", "row"]].values.tolist() == [["O3", 5]]
    assert r.totals() == {
        "expected": 5,
        "arrived": 4,
        "missing": 1,
        "unexpected": 1,
        "differing": 0,
        "assigned": 0,
    }


# --- command line ------------------------------------------------------------------------------


def test_cli_exits_0_when_everything_arrived(tmp_path, capsys):
    rows = _ours(3, "USMF", "US")
    ours = write_csv(tmp_path / "o.csv", OURS, rows)
    fno = write_csv(tmp_path / "f.csv", FNO, _fno(rows, "usmf"))
    assert run_command("p2c_reconcile", "account", str(ours), str(fno)) == 0
    assert "expected 3, arrived 3" in capsys.readouterr().out


def test_cli_exits_1_listing_each_difference(tmp_path, accounts, capsys):
    ours, fno_rows = accounts
    p1 = write_csv(tmp_path / "f1.csv", FNO, fno_rows[:4])
    p2 = write_csv(tmp_path / "f2.csv", FNO, fno_rows[4:])
    report, missing = tmp_path / "r.json", tmp_path / "missing.csv"
    code = run_command(
        "p2c_reconcile",
        "account",
        str(ours),
        str(p1),
        str(p2),
        "--report",
        str(report),
        "--missing",
        str(missing),
    )
    assert code == 1
    data = json.loads(report.read_text())
    assert [m["key"] for m in data["missing"]] == ["US004"]
    assert [d["key"] for d in data["differences"]] == ["US002"]
    assert len(read_csv(missing)) == 2


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["accounts"], "invalid choice"),
        (["account", "--nonsense"], "unrecognized arguments"),
    ],
)
def test_cli_exits_2_on_usage_problems(tmp_path, accounts, capsys, args, fragment):
    ours, fno_rows = accounts
    fno = write_csv(tmp_path / "f.csv", FNO, fno_rows)
    table, *rest = args
    assert run_command("p2c_reconcile", table, str(ours), str(fno), *rest) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1


def test_cli_exits_2_on_a_bad_export_with_one_line_saying_what_to_do(tmp_path, accounts, capsys):
    ours, _ = accounts
    bad = write_csv(tmp_path / "f.csv", ["NAME"], [["x"]])
    missing = tmp_path / "m.csv"
    assert run_command("p2c_reconcile", "account", str(ours), str(bad), "--missing", str(missing)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "CUSTOMERACCOUNT" in err
    assert not missing.exists()


def test_it_reads_our_output_with_logical_headers_as_a_workbook(tmp_path):
    logical = ["accountid", "accountnumber", "name", "msdyn_company", "customertypecode"]
    logical += ["msdyn_customergroupid", "msdyn_partynumber"]
    rows = [[guid(i), f"US{i:03d}", f"N{i}", "USMF", "Customer", "10", f"US{i:03d}"] for i in range(3)]
    ours = write_xlsx(tmp_path / "account_out.xlsx", logical, rows, hidden=1)
    fno = write_csv(tmp_path / "f.csv", FNO, [["US000", "usmf", "US000", "10", "Organization", "N0"]])
    r = reconcile_sync("account", ours, fno)
    assert r.missing["key"].tolist() == ["US001", "US002"]
    out = tmp_path / "missing.xlsx"
    assert r.write_missing(out) == 2
    assert read_xlsx(out) == [logical, rows[1], rows[2]]
