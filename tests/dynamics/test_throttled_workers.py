"""Two real worker processes pull two tables at once while the environment answers 429s of each
kind: no request is sent during a pause (it is shared through Redis: the emulator's log of
request arrivals against the pause windows it announced shows it, with grace only for a request
already on its way when the 429 left, told by order of events), both reads complete, and each
stored file holds every record once."""

import pytest
import redis
from cryptography.fernet import Fernet
from django.core.management import call_command

from migration.connections.pulls import pull_start
from migration.connections.services import connection_save
from migration.models import Pull, PullState

from ..entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT
from ..helpers import process_worker, wait_for
from .helpers import orders

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
KEY = Fernet.generate_key().decode()


def test_two_workers_honour_every_429_and_read_everything_once(
    migration, manager, sales, entra, settings, monkeypatch, redis_server, tmp_path
):
    settings.P2C_SECRETS_KEY = [KEY]
    settings.P2C_AUTHORITY_URL = entra.authority_url
    columns = {"ordernumber": "String", "name": "String", "customerid": "Customer"}
    for entity_set, entity in (("salesorders", "salesorder"), ("quotes", "quote")):
        records = [
            {f"{entity}id": r["salesorderid"], "name": r["name"], "ordernumber": f"N-{n}",
             "quotenumber": f"N-{n}", "_customerid_value": "c"}
            for n, r in enumerate(orders(60))
        ]  # fmt: skip
        sales.add_table(entity_set, entity, f"{entity}id", columns | {"quotenumber": "String"}, records)
    for on, kind in ((4, "requests"), (9, "execution_time"), (15, "concurrency")):
        sales.throttle(kind, retry_after=2, on=on)
    # The pause as the workers share it: a 429's other readers are answered once it is there.
    shared = redis.Redis.from_url(redis_server.url)
    sales.pause_visible = lambda: float(shared.get(f"p2c:dynamics:pause:{sales.url}|{DAEMON_CLIENT_ID}") or 0)
    connection = connection_save(
        migration=migration, actor=manager, kind="sales", url=sales.url,
        tenant_id=TENANT, client_id=DAEMON_CLIENT_ID, client_secret=DAEMON_CLIENT_SECRET,
    )  # fmt: skip
    env = {
        "P2C_SECRETS_KEY": KEY,
        "P2C_AUTHORITY_URL": entra.authority_url,
        "P2C_DYNAMICS_PAUSES_URL": redis_server.url,  # shared by the two workers
        "P2C_DYNAMICS_PAGE_SIZE": "5",
    }
    with (
        process_worker(tmp_path / "w1.log", name="w1", env=env),
        process_worker(tmp_path / "w2.log", name="w2", env=env),
    ):
        pulls = [pull_start(connection=connection, table=t, actor=manager) for t in ("order", "quote")]
        for pull in pulls:
            wait_for(lambda p=pull: Pull.objects.get(pk=p.pk).state in (PullState.DONE, PullState.FAILED),
                     timeout=180, what="the pull")  # fmt: skip

    assert [Pull.objects.get(pk=p.pk).state for p in pulls] == [PullState.DONE, PullState.DONE]
    assert [r.answered for r in sales.received].count(429) >= 3
    assert len(sales.windows) == 3
    # At least one 429 found the other worker mid-request: its answer waited until the pause was in
    # Redis, so its next request was sent knowing of it. Inside every window the server announced,
    # no request but one already on its way when the 429 left (by order of events, not time).
    assert any(w.shared_proof for w in sales.windows)
    assert sales.during_pause == []
    for variable, value in (("P2C_TENANT_ID", TENANT), ("P2C_CLIENT_ID", DAEMON_CLIENT_ID),
                            ("P2C_CLIENT_SECRET", DAEMON_CLIENT_SECRET)):  # fmt: skip
        monkeypatch.setenv(variable, value)
    for pull in pulls:
        pull.refresh_from_db()
        whole = tmp_path / f"{pull.table}.csv"
        call_command("p2c_dataverse", "read", pull.table, str(whole), "--url", sales.url, "--page-size", "5")
        assert pull.rows == 60
        assert pull.upload.file.read() == whole.read_bytes()
