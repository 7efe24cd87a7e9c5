"""Reconciliation that knows what F&O assigns, the company of each file, duplicate headers refused,
and lists meant for people written so a spreadsheet never runs their text."""

import csv

import pytest

from migration.engine import EngineError
from migration.engine.step9.reconcile import reconcile_sync
from migration.engine.tables.account import ASSIGNED_PARTY

from .helpers import OURS, guid, run_command, write_csv, write_xlsx

FNO = ["CUSTOMERACCOUNT", "PARTYNUMBER", "CUSTOMERGROUPID", "PARTYTYPE"]  # no DATAAREAID: one company a file
COMPANIES = ("USMF", "DEMF", "GBSI")


def our_accounts(company: str, n: int, party=lambda i: "") -> list[list[str]]:
    return [
        [guid(i), "ck", "1/3/2021", f"{company}-{i:03d}", f"Name {i}", company, "Customer", "10", party(i)]
        for i in range(n)
    ]


@pytest.fixture
def three_companies(tmp_path):
    """Our output over three companies, party numbers left empty (step 8 did not know them) but
    for USMF's first two; one F&O export per company without a company column, F&O's own numbers."""
    ours = []
    files = {}
    for c, company in enumerate(COMPANIES):
        rows = our_accounts(
            company, 4 + c, party=lambda i, co=company: f"P-{co}-{i}" if co == "USMF" and i < 2 else ""
        )
        ours += rows
        fno = [[r[3], r[8] or f"{100 + i:09d}", "10", "Organization"] for i, r in enumerate(rows)]
        files[company] = write_csv(tmp_path / f"customers_{company.lower()}.csv", FNO, fno)
    files["USMF"] = write_csv(
        tmp_path / "customers_usmf.csv",
        FNO,
        [["USMF-000", "P-USMF-0", "10", "Organization"], ["USMF-001", "OTHER-1", "10", "Organization"]]
        + [[f"USMF-{i:03d}", f"{200 + i:09d}", "10", "Organization"] for i in (2, 3)],
    )
    return write_csv(tmp_path / "account_out.csv", OURS, ours), files


def test_party_numbers_fo_assigns_are_counted_per_company_not_differences(three_companies):
    ours, files = three_companies
    r = reconcile_sync("account", ours, list(files.values()), companies={str(p): c for c, p in files.items()})
    # The only difference: a party number we set that arrived as another one.
    assert r.differences[["company", "key", "column", "expected", "found"]].values.tolist() == [
        ["USMF", "USMF-001", "party_number", "P-USMF-1", "OTHER-1"]
    ]
    counts = {c["company"]: c for c in r.to_dict()["companies"]}
    assert {c: (counts[c]["assigned"], counts[c]["differing"]) for c in COMPANIES} == {
        "USMF": (2, 1), "DEMF": (5, 0), "GBSI": (6, 0),
    }  # fmt: skip
    assert set(r.assigned["column"]) == {"party_number"}
    fields = {f["name"]: f for f in r.to_dict()["fields"]}
    assert fields["party_number"]["compared"] and fields["party_number"]["assigned_by_fno"] == ASSIGNED_PARTY
    assert fields["customer_group"]["compared"] and not fields["customer_group"]["assigned_by_fno"]
    assert "when ours is empty, assigned by F&O" in r.summary_text()


def test_three_files_without_a_company_column_each_take_their_company(three_companies):
    ours, files = three_companies
    r = reconcile_sync("account", ours, list(files.values()), companies={p.name: c for c, p in files.items()})
    assert r.missing.empty and r.unexpected.empty
    assert "company" not in set(r.differences["column"])
    assert {c["company"]: c["arrived"] for c in r.to_dict()["companies"]} == {"DEMF": 5, "GBSI": 6, "USMF": 4}


def test_one_company_for_all_files_reports_the_others_as_arrived_elsewhere(three_companies):
    ours, files = three_companies
    r = reconcile_sync("account", ours, list(files.values()), company="USMF")
    assert "company" in set(r.differences["column"])  # what per-file companies put right


def test_the_command_takes_a_company_per_input(three_companies, capsys):
    ours, files = three_companies
    given = [a for c, p in files.items() for a in ("--company", f"{c}={p.name}")]
    code = run_command("p2c_reconcile", "account", str(ours), *map(str, files.values()), *given)
    out = capsys.readouterr().out
    assert code == 1  # USMF-001's party number differs
    assert "missing 0, unexpected 0, differing 1, assigned by F&O 13" in out
    assert (
        run_command("p2c_reconcile", "account", str(ours), str(files["USMF"]), "--company", "DEMF=nope.csv")
        == 2
    )
    assert "names 'nope.csv', which is not one of the F&O exports given" in capsys.readouterr().err


def test_a_file_with_two_columns_of_one_name_is_refused_naming_both(tmp_path, three_companies):
    ours, _ = three_companies
    fno = write_csv(
        tmp_path / "dup.csv", ["CUSTOMERACCOUNT", "DATAAREAID", "customeraccount"], [["A", "usmf", "B"]]
    )
    with pytest.raises(
        EngineError, match=r"two columns are named 'customeraccount': column 1 \(A\) and column 3 \(C\)"
    ):
        reconcile_sync("account", ours, fno)
    dup = write_xlsx(tmp_path / "ours.xlsx", [*OURS, "Company"], [[*our_accounts("USMF", 1)[0], "USMF"]])
    with pytest.raises(EngineError, match=r"'Company': column 6 \(F\) and column 10 \(J\)"):
        reconcile_sync("account", dup, fno)


def test_lists_for_people_never_run_their_text_as_formulas(tmp_path):
    planted = ['=HYPERLINK("http://x","y")', "=1+2", "@SUM(A1)", "\tcmd", "+1 555 0100", "-12"]
    rows = [
        [guid(i), "ck", "1/3/2021", f"A{i}", "n", "USMF", "Customer", group, ""]
        for i, group in enumerate(planted)
    ]
    ours = write_csv(tmp_path / "out.csv", OURS, rows)
    fno = write_csv(
        tmp_path / "f.csv",
        ["CUSTOMERACCOUNT", "DATAAREAID", "CUSTOMERGROUPID"],
        [[f"A{i}", "usmf", "10"] for i in range(6)],
    )
    r = reconcile_sync("account", ours, fno)
    r.write_list("differences", tmp_path / "differences.csv")
    with open(tmp_path / "differences.csv", encoding="utf-8-sig", newline="") as handle:
        expected = [row["expected"] for row in csv.DictReader(handle)]
    assert expected == ['\'=HYPERLINK("http://x","y")', "'=1+2", "'@SUM(A1)", "'\tcmd", "+1 555 0100", "-12"]
