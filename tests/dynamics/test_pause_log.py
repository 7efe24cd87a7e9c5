"""The emulator's log of requests against the pause windows it announced tells a pause shared by
every reader from one each reader keeps to itself: another reader's request on hand when a 429
leaves is answered only once the pause is visible where the workers share it, so its next request
is sent knowing of the pause (shared) or during it (kept to itself). Grace is by order of events:
only a request a reader may have sent before the 429 left, never by a fraction of a second."""

import threading

import pytest

from migration.dynamics.pauses import LocalPauses, pauses_for
from migration.dynamics.webapi import ApiError, WebApiClient

from .conftest import credentials_for
from .helpers import orders


def read_both(sales, entra, pauses):
    """Two readers at once, as two workers; what each read, or the error it stopped with."""
    clients = [
        WebApiClient(sales.url, tokens=credentials_for(sales, entra), pauses=p, max_throttles=3)
        for p in pauses
    ]
    key = clients[0].pause_key
    sales.pause_visible = lambda: max(p.until(key) for p in pauses)
    read = {}

    def reader(client, table):
        try:
            read[table] = [
                r["name"] for p in client.pages(table, select=["name"], page_size=3) for r in p.records
            ]
        except ApiError as error:
            read[table] = error.code

    threads = [
        threading.Thread(target=reader, args=(c, t))
        for c, t in zip(clients, ("salesorders", "quotes"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return read


@pytest.fixture
def two_tables(sales):
    for name in ("salesorders", "quotes"):
        sales.add_table(name, name[:-1], name[:-1] + "id", {"name"}, orders(30))
    sales.throttle("requests", retry_after=1, on=8)
    return sales


def test_a_pause_shared_through_redis_leaves_no_request_inside_the_window(two_tables, entra, redis_server):
    read = read_both(two_tables, entra, [pauses_for(redis_server.url), pauses_for(redis_server.url)])
    assert read == {t: [f"Order {n}" for n in range(30)] for t in ("salesorders", "quotes")}
    [window] = two_tables.windows
    assert window.shared_proof  # the other reader's answer waited until the pause was in Redis
    assert two_tables.during_pause == []


def test_a_pause_each_reader_keeps_to_itself_is_caught_in_the_log(two_tables, entra):
    read = read_both(two_tables, entra, [LocalPauses(), LocalPauses()])
    [window] = two_tables.windows
    assert window.shared_proof
    caught = two_tables.during_pause
    told, not_told = window.to_who, next(r.who for r in caught if r.who != window.to_who)
    # The reader not told sent its next request as soon as its held answer came: inside the window.
    first = min((r for r in two_tables.received if r.who == not_told and r.seq > window.announced_seq),
                key=lambda r: r.seq)  # fmt: skip
    assert first in caught and first.at < window.until and first.answered == 429
    assert told != not_told
    assert read  # both readers ran (whether they finished depends on how the pauses then fell)
