"""Contact (tables/contact.py): active or not, its contact number, its issues."""

import pytest

from ..helpers import (
    codes,
    column,
    guid,
    read_csv,
    run,
    write_csv,
)

CONTACT_HEADERS = [
    "(Do Not Modify) Contact",
    "Full Name",
    "Contact Number",
    "Is Active Customer",
    "Company Name",
]


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
