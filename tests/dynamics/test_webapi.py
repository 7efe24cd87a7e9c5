"""Reading Sales as Microsoft documents it: paging, formatted values, service protection, errors,
tokens (each exchange is pinned in tests/dataverse_emulator.py to the article it comes from)."""

import time

import pytest

from migration.dynamics.pauses import pauses_for
from migration.dynamics.tokens import ClientCredentials, TokenError
from migration.dynamics.webapi import ApiError, CannotConnect, WebApiClient

from ..dataverse_emulator import Emulator
from ..entra import DAEMON_CLIENT_ID, TENANT
from .conftest import credentials_for
from .helpers import FORMATTED, orders


@pytest.fixture
def with_orders(sales):
    sales.add_table("salesorders", "salesorder", "salesorderid", {"name", "msdyn_ordertype"}, orders(12))
    return sales


def read_all(client, **kwargs) -> list[dict]:
    return [r for page in client.pages("salesorders", **kwargs) for r in page.records]


def test_a_table_is_read_page_by_page_following_the_next_link(with_orders, sales_client):
    pages = list(sales_client.pages("salesorders", select=["name"], page_size=5))
    assert [len(p.records) for p in pages] == [5, 5, 2]
    assert [r["name"] for p in pages for r in p.records] == [f"Order {n}" for n in range(12)]
    # The page size travels in Prefer with every request, nextLinks included.
    assert all("odata.maxpagesize=5" in r.prefer for r in with_orders.received)
    assert pages[-1].next_link is None


def test_choices_come_with_their_labels(with_orders, sales_client):
    record = read_all(sales_client, select=["msdyn_ordertype"])[0]
    assert record["msdyn_ordertype" + FORMATTED] == "Item based"


def test_a_read_resumes_from_a_stored_next_link(with_orders, sales_client):
    first = next(sales_client.pages("salesorders", select=["name"], page_size=5))
    rest = sales_client.pages("salesorders", resume_from=first.next_link, page_size=5, first_number=2)
    names = [r["name"] for p in rest for r in p.records]
    assert names == [f"Order {n}" for n in range(5, 12)]


def test_a_page_size_above_5000_is_refused_before_anything_is_sent(with_orders, sales_client):
    with pytest.raises(ValueError, match="1 to 5000"):
        next(sales_client.pages("salesorders", page_size=5001))
    assert with_orders.received == []


@pytest.mark.parametrize(
    ("kind", "code"),
    [("requests", "0x80072322"), ("execution_time", "0x80072321"), ("concurrency", "0x80072326")],
)
def test_each_service_protection_429_pauses_then_the_read_completes(with_orders, sales_client, kind, code):
    with_orders.throttle(kind, retry_after=1, on=2)
    names = [r["name"] for r in read_all(sales_client, select=["name"], page_size=5)]
    assert names == [f"Order {n}" for n in range(12)]  # nothing read twice, nothing lost
    assert with_orders.during_pause == []  # no request sent before Retry-After had passed
    assert sales_client.traffic.codes == [code]


def test_502_503_504_and_a_dropped_connection_are_retried(with_orders, sales_client):
    with_orders.fail(503, on=1)
    with_orders.fail(502, on=2)
    with_orders.drop_connection(on=3)
    with_orders.fail(504, on=5)
    assert len(read_all(sales_client, page_size=5)) == 12
    assert sales_client.traffic.retried == 4


def test_an_environment_that_keeps_failing_is_reported(with_orders, sales_client):
    for n in range(1, 7):
        with_orders.fail(503, on=n)
    with pytest.raises(CannotConnect, match=r"kept failing \(HTTP 503\) after 5 retries"):
        read_all(sales_client)


def test_an_unknown_column_is_reported_with_dataverses_code_and_message_never_retried(
    with_orders, sales_client
):
    with pytest.raises(ApiError) as refused:
        read_all(sales_client, select=["msdynce_ordertype"])
    assert refused.value.status == 400
    assert refused.value.code == "0x0"  # as web-api-client-errors.md shows it
    assert "Could not find a property named 'msdynce_ordertype'" in str(refused.value)
    assert len(with_orders.received) == 1


def test_an_unknown_table_is_a_404_with_its_message(with_orders, sales_client):
    with pytest.raises(ApiError, match="404 0x8006088a: Resource not found for the segment 'salesorderz'"):
        list(sales_client.pages("salesorderz"))


def test_a_token_refused_mid_read_is_refreshed_once_and_the_read_completes(with_orders, sales_client):
    pages = sales_client.pages("salesorders", select=["name"], page_size=5)
    first = next(pages)
    with_orders.revoke_tokens()  # as the token expiring between two pages
    rest = [r for p in pages for r in p.records]
    assert len(first.records) + len(rest) == 12
    assert sales_client.traffic.token_refreshes == 1
    assert [r.answered for r in with_orders.received] == [200, 401, 200, 200]


def test_tokens_are_real_and_for_this_environment_only(with_orders, sales, entra, dynamics_ca):
    other = Emulator(dynamics_ca, issuer=entra.issuer)
    try:
        # A token MSAL obtained for another environment is refused there, even after a refresh.
        from migration.dynamics.webapi import WebApiClient

        client = WebApiClient(sales.url, tokens=credentials_for(other, entra), backoff=0.01)
        with pytest.raises(ApiError) as refused:
            read_all(client)
        assert refused.value.status == 401
        assert client.traffic.token_refreshes == 1
    finally:
        other.stop()


def test_a_wrong_client_secret_says_what_to_check(sales, entra):
    bad = ClientCredentials(
        resource=sales.url,
        tenant_id=TENANT,
        client_id=DAEMON_CLIENT_ID,
        client_secret="not-the-secret",
        authority_url=entra.authority_url,
    )
    with pytest.raises(TokenError, match=r"invalid_client.*Check the tenant id, client id and secret"):
        bad.token()


def test_a_token_that_expires_mid_read_is_replaced_and_the_read_completes(with_orders, sales, entra):
    entra.state(accounts={}, access_token_ttl=1)  # Entra's tokens live an hour; these, a second
    client = WebApiClient(sales.url, tokens=credentials_for(sales, entra), backoff=0.05)
    pages = client.pages("salesorders", select=["name"], page_size=5)
    first = next(pages)
    time.sleep(2)  # not measured: only lets the token's exp pass between two pages
    # The next token lives an hour: on a loaded machine a second-long one could expire again
    # before the last page, and the count below would be of the machine's speed.
    entra.state(accounts={}, access_token_ttl=3600)
    rest = [r for p in pages for r in p.records]
    assert len(first.records) + len(rest) == 12
    assert client.traffic.token_refreshes == 1
    assert [r.answered for r in with_orders.received] == [200, 401, 200, 200]


def test_a_pause_is_shared_through_redis_by_every_reader_of_the_connection(sales, entra, redis_server):
    # Two readers with their own Redis connections, as two workers. The first is throttled; while
    # it waits, the second starts its read: it must wait too, not send and be throttled itself.
    for name in ("salesorders", "quotes"):
        sales.add_table(name, name[:-1], name[:-1] + "id", {"name"}, orders(4))
    sales.throttle("requests", retry_after=1, on=1)
    sales.in_flight_grace = False  # the two reads are in sequence: no request can be on its way
    second = WebApiClient(
        sales.url, tokens=credentials_for(sales, entra), pauses=pauses_for(redis_server.url)
    )
    second_read = []

    def first_waits(seconds):
        if not second_read:
            second_read.extend(r["name"] for p in second.pages("quotes", page_size=2) for r in p.records)
        time.sleep(max(0, seconds - second.traffic.paused_seconds))

    first = WebApiClient(
        sales.url,
        tokens=credentials_for(sales, entra),
        pauses=pauses_for(redis_server.url),
        sleep=first_waits,
    )
    first_read = [r["name"] for p in first.pages("salesorders", page_size=2) for r in p.records]
    assert first_read == second_read == [f"Order {n}" for n in range(4)]
    assert sales.during_pause == []
    assert second.traffic.throttled == 0 and second.traffic.paused_seconds > 0
