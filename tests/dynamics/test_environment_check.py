"""manage.py p2c_dataverse check: steps 3 to 7 read in the environment, one emulator state per
finding, each reported on its step and checklist row with what to do."""

from django.core.management import call_command


def check(capsys, sales, *companies):
    args = [arg for company in companies for arg in ("--company", company)]
    try:
        call_command("p2c_dataverse", "check", "--url", sales.url, *args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_a_ready_environment_exits_0(ready, capsys):
    code, out = check(capsys, ready, "USMF", "DEMF")
    assert code == 0 and out.startswith("Ready")


def test_step_3_p2c_columns_still_there(ready, capsys):
    ready.tables["accounts"].columns["msdynce_accountnumber"] = "String"
    code, out = check(capsys, ready, "USMF")
    assert code == 1
    assert out == (
        "step 3 (uninstall-p2c): account still has the P2C solution's columns msdynce_accountnumber: "
        "uninstall the Prospect to cash solution.\n"
    )


def test_step_4_dual_write_not_installed(ready, capsys):
    for entity_set in ("quotes", "quotedetails"):
        del ready.tables[entity_set].columns["msdyn_company"]
    code, out = check(capsys, ready, "USMF")
    assert code == 1
    assert out.startswith("step 4 (install-orchestration): quote, quotedetail have no msdyn_company column")


def test_step_5_a_legal_entity_that_is_no_company(ready, capsys):
    code, out = check(capsys, ready, "USMF", "FRRT")
    assert code == 1
    assert out.startswith("step 5 (install-link): Companies FRRT are not in Dataverse (cdm_companies)")


def test_step_7_a_published_duplicate_detection_rule(ready, capsys):
    ready.tables["duplicaterules"].rows[0]["statecode"] = 1
    code, out = check(capsys, ready, "USMF")
    assert code == 1
    assert out == (
        "step 7 (dup-all-disabled): 1 duplicate detection rule(s) published: Accounts with the same name. "
        "Unpublish them before the initial sync.\n"
    )


def test_an_environment_that_cannot_be_read_exits_2_with_why(ready, capsys):
    ready.fail(403, on=1)
    code, out = check(capsys, ready, "USMF")
    assert code == 2
    assert out.startswith(f"error: cannot read {ready.url}: HTTP 403")
