"""Step 8 without the Import data wizard: a job's new values planned against Sales as it is,
approved by a project manager, applied through $batch with If-Match, and read back, on the
strict emulator with tokens from the real OpenID provider."""

import csv
import io
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage

from migration.connections import writeback
from migration.dynamics.writeback import NULL
from migration.models import Activity, ChecklistItem, WritePlan, WriteState

from .writeback_env import COMPANIES, ENTITY_SETS, GROUP_10_USMF

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("file_storage")]
TABLES = ("account", "contact", "order", "quote", "order_products", "quote_products")


def planned(job=None, actor=None, plan=None):
    """A plan made as the worker makes it."""
    plan = plan or writeback.plan_start(job=job, actor=actor)
    writeback.plan_run(plan_id=plan.id)
    plan.refresh_from_db()
    return plan


def approved_and_applied(plan, manager, sales, **options):
    host = sales.url.split("//")[1].split(":")[0]
    writeback.plan_approve(plan=plan, actor=manager, typed_host=host, maps_stopped=True, **options)
    writeback.apply_start(plan_id=plan.id)
    for chunk in plan.chunks.all():  # as the workers run them
        writeback.apply_chunk(plan_id=plan.id, number=chunk.number)
    plan.refresh_from_db()
    return plan


def guid_of(row: dict) -> str:
    """A plan file's first column: the record's GUID, headed by the table's key (salesorderid)."""
    return next(iter(row.values()))


def rows_of(plan, name):
    """A plan's file as every machine reads it: from the shared storage."""
    with default_storage.open(plan.files[name], "rb") as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


def record(sales, table, guid):
    entity_set = ENTITY_SETS[{"order": "salesorder", "quote": "quote", "order_products": "salesorderdetail",
                              "quote_products": "quotedetail"}.get(table, table)]  # fmt: skip
    rows = sales.tables[entity_set].rows
    key = sales.tables[entity_set].key
    return next(r for r in rows if r[key] == guid)


@pytest.mark.parametrize("table", TABLES)
def test_plan_approve_apply_and_read_back(table, connect, consultant, manager, sales, client_for):
    job = connect(table)
    plan = planned(job, consultant)
    outcomes = plan.counts["outcomes"]
    assert plan.state == WriteState.PLANNED and outcomes["change"] > 0
    assert sum(outcomes.values()) == sum(1 for _ in rows_of(plan, "plan"))
    assert plan.counts["columns"]["msdyn_company"] == outcomes["change"]

    plan = approved_and_applied(plan, manager, sales)
    assert plan.state == WriteState.DONE, plan.message
    assert plan.results["applied"] == outcomes["change"]
    assert (plan.results["failed"], plan.results["conflict"]) == (0, 0)
    assert plan.results["matched"] == outcomes["change"] and plan.results["differ"] == 0
    changed = [guid_of(r) for r in rows_of(plan, "applied")]
    assert Counter(sales.updated) == Counter(changed)  # each record written once
    written = record(sales, table, changed[0])
    assert written["_msdyn_company_value"] == COMPANIES["USMF"]  # bound to the company by its code
    if table == "order":
        assert written["msdyn_ordertype"] == 192350000  # "Item based" as its option value
        assert written["_msdyn_invoicecustomerid_value"] == written["_customerid_value"]
    if table == "account":
        assert written["_msdyn_customergroupid_value"] == GROUP_10_USMF
        assert written["customertypecode"] == 3

    # Step 8's "initialized" row ticks itself when every record of the job reads back as it wants.
    complete = not (outcomes["refused"] or outcomes["missing"] or outcomes["conflict"])
    item = ChecklistItem.objects.get(migration=job.migration, key=f"init-{table}")
    assert item.done == complete and bool(item.details.get("verified")) == complete
    if complete:
        assert f"read back after write-back #{plan.pk}" in item.details["verified_because"]
        # and step 8's route for the table says so, not "ticked by hand"
        page = client_for("consultant").get(f"/migrations/{job.migration_id}/steps/initialize/").text
        assert f"read back after write-back #{plan.pk}" in page and "ticked by hand" not in page

    again = planned(job, consultant)  # the same job planned once more: nothing left to write
    assert again.counts["outcomes"]["change"] == 0
    assert again.counts["outcomes"]["unchanged"] == outcomes["change"]


def test_records_that_would_fail_are_refused_in_the_plan(connect, consultant, sales):
    job = connect("order")
    guids = [r["salesorderid"] for r in sales.tables["salesorders"].rows]
    sales.tables["salesorders"].rows = [
        r for r in sales.tables["salesorders"].rows if r["salesorderid"] != guids[0]
    ]
    plan = planned(job, consultant)
    rows = {guid_of(r): r for r in rows_of(plan, "plan")}
    assert rows[guids[0]]["outcome"] == "missing"
    refused = [r for r in rows.values() if r["outcome"] == "refused"]
    assert any("invoiced: Sales refuses updates" in r["reason"] for r in refused)
    assert any("longer than the 20 characters msdyn_salesordernumber holds" in r["reason"] for r in refused)
    change = next(r for r in rows.values() if r["outcome"] == "change")
    assert change["msdyn_company after"] == f"/cdm_companies({COMPANIES['USMF']})"
    assert change["msdyn_ordertype before"] == "" and change["msdyn_ordertype after"] == "192350000"


def test_a_company_code_sales_does_not_have_is_refused(connect, consultant, sales):
    job = connect("account")
    sales.tables["cdm_companies"].rows = []
    plan = planned(job, consultant)
    assert plan.counts["outcomes"]["refused"] == 300
    assert "no company with code 'USMF'" in rows_of(plan, "plan")[0]["reason"]


def test_a_record_changed_after_the_export_is_a_conflict_in_the_plan(connect, consultant, sales):
    job = connect("account")
    sales.tables["accounts"].rows[0]["modifiedon"] = "2099-01-01T00:00:00Z"
    plan = planned(job, consultant)
    assert plan.counts["outcomes"]["conflict"] == 1
    assert "modified on 2099-01-01T00:00:00Z, after the export" in rows_of(plan, "plan")[0]["reason"]


def test_a_conflict_planted_between_plan_and_apply_is_reported_not_overwritten(
    connect, consultant, manager, sales
):
    job = connect("account")
    plan = planned(job, consultant)
    guid = guid_of(rows_of(plan, "plan")[5])
    someone = f"/api/data/v9.2/accounts({guid})"
    assert sales.patch(someone, None, b'{"msdyn_partynumber": "SET-BY-SOMEONE"}')[0] == 204
    sales.updated.clear()

    plan = approved_and_applied(plan, manager, sales)
    conflicts = rows_of(plan, "conflicts")
    assert [guid_of(c) for c in conflicts] == [guid] and conflicts[0]["code"] == "0x80060882"
    assert record(sales, "account", guid)["msdyn_partynumber"] == "SET-BY-SOMEONE"
    assert guid not in sales.updated
    assert plan.results["applied"] == plan.counts["outcomes"]["change"] - 1


def test_one_invalid_record_in_a_batch_fails_alone(connect, consultant, manager, sales):
    job = connect("account")
    plan = planned(job, consultant)
    gone = guid_of(rows_of(plan, "plan")[3])
    sales.tables["accounts"].rows = [r for r in sales.tables["accounts"].rows if r["accountid"] != gone]

    plan = approved_and_applied(plan, manager, sales, batch_size=50)
    failed = rows_of(plan, "failed")
    assert [(guid_of(f), f["code"]) for f in failed] == [(gone, "0x80040217")]
    assert "Does Not Exist" in failed[0]["message"]
    assert plan.results["applied"] == plan.counts["outcomes"]["change"] - 1


def test_a_rerun_after_a_killed_chunk_writes_each_record_once(connect, consultant, manager, sales):
    job = connect("contact")
    plan = planned(job, consultant)
    host = sales.url.split("//")[1].split(":")[0]
    writeback.plan_approve(plan=plan, actor=manager, typed_host=host, maps_stopped=True, batch_size=20)
    writeback.apply_start(plan_id=plan.id)
    sales.write_delay = 0  # the first attempt dies after its third batch
    stop = {"batches": 0}

    class Killed(BaseException):
        pass

    original = writeback.wb.WebApiClient.batch_update

    def dies_after_three(self, updates, **kwargs):
        if stop["batches"] == 3:
            raise Killed
        stop["batches"] += 1
        return original(self, updates, **kwargs)

    writeback.wb.WebApiClient.batch_update = dies_after_three
    try:
        with pytest.raises(Killed):
            writeback.apply_chunk(plan_id=plan.id, number=0)
    finally:
        writeback.wb.WebApiClient.batch_update = original
    assert len(sales.updated) == 60
    writeback.apply_chunk(plan_id=plan.id, number=0)  # redelivered
    plan.refresh_from_db()
    assert plan.state == WriteState.DONE
    assert plan.results["applied"] == plan.counts["outcomes"]["change"]
    assert set(Counter(sales.updated).values()) == {1}
    assert len(sales.updated) == plan.counts["outcomes"]["change"]


def test_undo_restores_the_values_from_before(connect, consultant, manager, sales):
    job = connect("account")
    before = {r["accountid"]: dict(r) for r in sales.tables["accounts"].rows}
    plan = approved_and_applied(planned(job, consultant), manager, sales)
    undo = planned(plan=writeback.undo_start(plan=plan, actor=manager))
    assert undo.counts["outcomes"]["change"] == plan.results["applied"]
    assert rows_of(undo, "plan")[0]["msdyn_company after"] == NULL

    assert ChecklistItem.objects.get(migration=job.migration, key="init-account").done

    undo = approved_and_applied(undo, manager, sales)
    assert undo.results["matched"] == plan.results["applied"]
    assert not ChecklistItem.objects.get(migration=job.migration, key="init-account").done
    for row in sales.tables["accounts"].rows:
        for column in ("_msdyn_company_value", "_msdyn_customergroupid_value", "customertypecode"):
            assert row.get(column) == before[row["accountid"]].get(column)


def test_conflicts_are_planned_again_from_current_values(connect, consultant, manager, sales):
    job = connect("account")
    plan = planned(job, consultant)
    guid = guid_of(rows_of(plan, "plan")[0])
    sales.patch(f"/api/data/v9.2/accounts({guid})", None, b'{"msdyn_partynumber": "X"}')
    plan = approved_and_applied(plan, manager, sales)
    replan = planned(plan=writeback.replan_conflicts_start(plan=plan, actor=consultant))
    rows = rows_of(replan, "plan")
    assert [(guid_of(r), r["outcome"]) for r in rows] == [(guid, "change")]
    assert rows[0]["msdyn_partynumber before"] == "X"


def test_only_a_project_manager_approves_naming_the_environment(connect, consultant, manager, sales):
    plan = planned(connect("account"), consultant)
    host = sales.url.split("//")[1].split(":")[0]
    with pytest.raises(PermissionDenied):
        writeback.plan_approve(plan=plan, actor=consultant, typed_host=host, maps_stopped=True)
    with pytest.raises(writeback.WritebackError, match="Type the environment's host"):
        writeback.plan_approve(
            plan=plan, actor=manager, typed_host="contoso.crm.dynamics.com", maps_stopped=True
        )
    with pytest.raises(writeback.WritebackError, match="maps of account are stopped"):
        writeback.plan_approve(plan=plan, actor=manager, typed_host=host, maps_stopped=False)
    writeback.plan_approve(plan=plan, actor=manager, typed_host=host, maps_stopped=True)
    assert Activity.objects.filter(verb="writeback_approve", actor=manager).exists()


def test_bypass_options_travel_with_each_update(connect, consultant, manager, sales, monkeypatch):
    sent = []
    original = writeback.wb.WebApiClient.batch_update

    def spy(self, updates, **kwargs):
        sent.extend(updates)
        return original(self, updates, **kwargs)

    monkeypatch.setattr(writeback.wb.WebApiClient, "batch_update", spy)
    plan = planned(connect("account"), consultant)
    with pytest.raises(writeback.WritebackError, match="lacks prvBypassCustomBusinessLogic"):
        approved_and_applied(plan, manager, sales, bypass_logic=True)
    assert sent == []
    sales.privileges.append("prvBypassCustomBusinessLogic")
    approved_and_applied(plan, manager, sales, bypass_logic=True, bypass_flows=True)
    assert sent and all(u.headers == (writeback.wb.BYPASS_LOGIC, writeback.wb.BYPASS_FLOWS) for u in sent)


def test_viewers_cannot_plan_and_consultants_cannot_approve_or_undo(connect, client_for, migration, sales):
    job = connect("account")
    plan_url = f"/migrations/{migration.id}/writeback/"
    assert client_for("viewer").post(plan_url, {"job": job.id}).status_code == 403
    assert client_for("consultant").post(plan_url, {"job": job.id}).status_code == 302
    plan = planned(plan=WritePlan.objects.get())
    consultant = client_for("consultant")
    for action in ("approve", "undo"):
        assert consultant.post(f"{plan_url}{plan.id}/{action}/", {"host": "127.0.0.1"}).status_code == 403
    assert WritePlan.objects.get().state == WriteState.PLANNED and sales.updated == []
    assert client_for("viewer").get(f"{plan_url}{plan.id}/plan.csv").status_code == 200
    assert client_for("outsider").get(f"{plan_url}{plan.id}/plan.csv").status_code == 404
