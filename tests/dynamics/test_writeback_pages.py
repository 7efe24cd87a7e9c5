"""The write-back from step 8's page, through a real worker: a consultant plans, only a project
manager approves (typing the environment's host) and undoes; a worker killed mid-apply is
redelivered and every record is written once."""

import os
import signal
from collections import Counter

import pytest
from django.test import Client

from migration.models import WriteChunk, WritePlan, WriteState

from ..helpers import pool_children, process_worker, step_url, thread_worker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def host_of(sales) -> str:
    return sales.url.split("//")[1].split(":")[0]


def plan_state(plan_id) -> str:
    return WritePlan.objects.get(pk=plan_id).state


def finished(plan_id):
    return plan_state(plan_id) in (WriteState.PLANNED, WriteState.DONE, WriteState.FAILED)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.usefixtures("file_storage")  # a thread worker: the same storage settings as the web
def test_plan_approve_apply_and_read_back_from_step_8(
    connect,
    migration, sales, manager, consultant, outsider,
):  # fmt: skip
    job = connect("order")
    consultant, manager, outsider = (signed_in(user) for user in (consultant, manager, outsider))
    page = consultant.get(step_url(migration, "initialize")).text
    assert "Plan the write-back of order" in page
    with thread_worker():
        response = consultant.post(f"/migrations/{migration.id}/writeback/", {"job": job.id}, follow=True)
        plan = WritePlan.objects.get()
        assert "Planning the write-back of order" in response.text
        wait_for(lambda: finished(plan.id), what="the plan")
        page = consultant.get(f"/migrations/{migration.id}/writeback/{plan.id}/").text
        assert "A project manager of this migration approves the write." in page
        approve = f"/migrations/{migration.id}/writeback/{plan.id}/approve/"
        form = {"host": host_of(sales), "maps_stopped": "1", "batch_size": "40"}
        assert consultant.post(approve, form).status_code == 403
        assert sales.updated == []

        wrong = manager.post(approve, form | {"host": "contoso.crm.dynamics.com"}, follow=True).text
        assert "Type the environment&#x27;s host" in wrong
        manager.post(approve, form)
        wait_for(lambda: finished(plan.id), what="the apply")
    plan.refresh_from_db()
    assert plan.state == WriteState.DONE, plan.message
    page = manager.get(f"/migrations/{migration.id}/writeback/{plan.id}/").text
    changed = plan.counts["outcomes"]["change"]
    assert f"{changed} of {changed} records as planned" in page
    download = manager.get(f"/migrations/{migration.id}/writeback/{plan.id}/applied.csv")
    assert b"".join(download.streaming_content).count(b"\n") == changed + 1
    assert consultant.post(f"/migrations/{migration.id}/writeback/{plan.id}/undo/").status_code == 403
    assert outsider.get(f"/migrations/{migration.id}/writeback/{plan.id}/").status_code == 404


def test_a_worker_killed_mid_apply_is_redelivered_and_writes_each_record_once(
    connect,
    migration,
    manager,
    consultant,
    sales,
    tmp_path,
    settings,
    entra,
):
    from migration.connections import writeback

    job = connect("contact")
    plan = writeback.plan_start(job=job, actor=consultant)
    writeback.plan_run(plan_id=plan.id)
    plan.refresh_from_db()
    sales.write_delay = 0.3  # a batch of 10 every 0.3 s: the apply lasts about 9 s
    env = {"P2C_SECRETS_KEY": settings.P2C_SECRETS_KEY[0], "P2C_AUTHORITY_URL": entra.authority_url}
    with process_worker(tmp_path / "w1.log", env=env) as worker:
        writeback.plan_approve(
            plan=plan, actor=manager, typed_host=host_of(sales), maps_stopped=True, batch_size=10
        )
        wait_for(
            lambda: WriteChunk.objects.filter(plan=plan, done__gte=50).exists(), what="the apply to start"
        )
        for pid in pool_children(worker):
            os.kill(pid, signal.SIGKILL)
        written_before_restart = len(sales.updated)
    assert plan_state(plan.id) == WriteState.APPLYING
    assert 50 <= written_before_restart < plan.counts["outcomes"]["change"]
    with process_worker(tmp_path / "w2.log", name="w2", env=env):
        wait_for(lambda: finished(plan.id), timeout=180, what="the redelivered apply")
    plan.refresh_from_db()
    assert plan.state == WriteState.DONE, plan.message
    assert plan.results["applied"] == plan.results["matched"] == plan.counts["outcomes"]["change"]
    assert set(Counter(sales.updated).values()) == {1}
    assert len(sales.updated) == plan.counts["outcomes"]["change"]


def test_two_workers_honour_429s_during_apply_and_write_each_record_once(
    connect,
    migration, manager, consultant, sales, tmp_path, settings, entra, redis_server,
):  # fmt: skip
    from migration.connections import writeback

    plan = writeback.plan_start(job=connect("contact"), actor=consultant)
    writeback.plan_run(plan_id=plan.id)
    plan.refresh_from_db()
    env = {
        "P2C_SECRETS_KEY": settings.P2C_SECRETS_KEY[0],
        "P2C_AUTHORITY_URL": entra.authority_url,
        "P2C_DYNAMICS_PAUSES_URL": redis_server.url,  # shared by the two workers
        "P2C_WRITEBACK_CHUNK": "60",
    }
    for on, kind in ((3, "requests"), (12, "execution_time"), (21, "concurrency")):
        sales.throttle_batch(kind, retry_after=2, on=on)
    sales.throttle("requests", retry_after=2, on=20)  # and one on whatever comes 20th (a read, say)
    with (
        process_worker(tmp_path / "w1.log", name="w1", env=env),
        process_worker(tmp_path / "w2.log", name="w2", env=env),
    ):
        writeback.plan_approve(
            plan=plan, actor=manager, typed_host=host_of(sales), maps_stopped=True, batch_size=10
        )
        wait_for(lambda: finished(plan.id), timeout=180, what="the apply")
    plan.refresh_from_db()
    assert plan.state == WriteState.DONE, plan.message
    assert plan.chunks.count() == 5
    assert [r.answered for r in sales.received if r.method == "POST"].count(429) >= 3
    assert sales.during_pause == []
    assert set(Counter(sales.updated).values()) == {1}
    assert plan.results["applied"] == plan.results["matched"] == len(sales.updated) == 300
    progress = writeback.apply_progress(plan)  # what the page shows
    assert progress["throttled"] >= 3 and progress["paused"] > 0
