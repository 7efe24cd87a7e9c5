"""manage.py p2c_dataverse check: steps 3 to 7 and step 8's readiness read in the environment, one
emulator state per finding, each reported on its step and checklist row with what to do."""

from django.core.management import call_command


def check(capsys, sales, *companies, options=()):
    args = [arg for company in companies for arg in ("--company", company)] + list(options)
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


def test_step_6_a_customer_group_a_company_does_not_have(ready, capsys):
    code, out = check(capsys, ready, "USMF", "DEMF", options=["--customer-group", "DEMF=20"])
    assert code == 1
    assert out == (
        "step 6 (ref-customer-groups--msdyn-customergroups): Customer group 20 in DEMF is not in "
        "Dataverse (msdyn_customergroups): run the Customer groups map's initial sync, or choose a "
        "group the company has at step 8.\n"
    )


def test_step_6_a_group_of_another_company_does_not_count(ready, capsys):
    ready.tables["msdyn_customergroups"].rows[1]["_msdyn_company_value"] = "c0"  # both USMF's
    code, out = check(capsys, ready, "USMF", "DEMF")
    assert code == 1 and "Customer group 10 in DEMF is not in Dataverse" in out


def test_a_language_that_is_no_choice_of_the_order(ready, capsys):
    del ready.tables["salesorders"].choices["msdyn_language"][192350004]
    code, out = check(capsys, ready, "USMF", "DEMF", options=["--language", "USMF=de"])
    assert code == 1
    assert out == (
        "step 8 (init-order): Language de (of USMF) is not a choice of the order's msdyn_language in "
        "Dataverse: update the dual-write solutions, or choose another language at step 8.\n"
    )


def test_step_8_the_application_user_may_not_update_every_record(ready, capsys):
    ready.privilege_depths["prvWriteSalesOrderDetail"] = "Local"
    ready.privilege_depths["prvWriteAccount"] = ""
    code, out = check(capsys, ready, "USMF")
    assert code == 1
    assert out == (
        "step 8 (init-account): The application user has no prvWriteAccount privilege on account: give "
        "its security role Write on account at organization level before writing back.\n"
        "step 8 (init-order_products): The application user holds prvWriteSalesOrderDetail only at the "
        "Local level on salesorderdetail: give its security role Write on salesorderdetail at "
        "organization level before writing back.\n"
    )


def test_step_8_a_table_without_optimistic_concurrency(ready, capsys):
    ready.tables["quotedetails"].optimistic_concurrency = False
    code, out = check(capsys, ready, "USMF")
    assert code == 1
    assert out.startswith(
        "step 8 (init-quote_products): Optimistic concurrency is off on quotedetail: a write-back could "
        "overwrite a change made since the record was read."
    )


def test_step_8_closed_orders_and_quotes_that_refuse_updates(ready, capsys):
    orders = ready.tables["salesorders"].rows
    orders += [{"salesorderid": f"o{n}", "name": "x", "statecode": n % 5} for n in range(2, 12)]
    ready.tables["quotes"].rows.append({"quoteid": "q2", "name": "won", "statecode": 2})
    code, out = check(capsys, ready, "USMF")
    assert code == 1
    assert out == (
        "step 8 (init-order): 6 salesorder record(s) are closed (statecode 2, 3, 4) and refuse updates: "
        "initialize them through the import route, or reopen them first.\n"
        "step 8 (init-quote): 1 quote record(s) are closed (statecode 1, 2, 3) and refuse updates: "
        "initialize them through the import route, or reopen them first.\n"
    )


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
