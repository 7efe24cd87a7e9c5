"""Writing back (the next issue's client, built here): updates in $batch with continue-on-error,
each with If-Match, as Microsoft documents them; the emulator follows the same articles."""

import pytest

from migration.dynamics.webapi import Outcome, Update

STALE = "0x80060882"


@pytest.fixture
def quotes(sales):
    rows = [
        {"quoteid": f"00000000-0000-0000-0000-00000000000{n}", "name": f"Quote {n}", "@odata.etag": 'W/"7"'}
        for n in range(3)
    ]
    sales.add_table("quotes", "quote", "quoteid", {"name": "String", "msdyn_quotenumber": "String"}, rows)
    return sales.tables["quotes"].rows


def updates(etags, values=None):
    return [
        Update(
            "quotes",
            f"00000000-0000-0000-0000-00000000000{n}",
            values or {"msdyn_quotenumber": f"Q-{n}"},
            etag,
        )
        for n, etag in enumerate(etags)
    ]


def test_a_record_changed_since_it_was_read_is_refused_alone_and_not_overwritten(quotes, sales_client):
    outcomes = sales_client.batch_update(updates(['W/"7"', 'W/"6"', 'W/"7"']))
    assert [o.status for o in outcomes] == [204, 412, 204]
    assert outcomes[1].code == STALE and "doesn't match the RowVersion" in outcomes[1].message
    assert [r.get("msdyn_quotenumber") for r in quotes] == ["Q-0", None, "Q-2"]
    assert [r["@odata.etag"] for r in quotes] == ['W/"8"', 'W/"7"', 'W/"8"']


def test_without_continue_on_error_the_batch_stops_at_the_first_refusal(quotes, sales_client):
    outcomes = sales_client.batch_update(updates(['W/"7"', 'W/"6"', 'W/"7"']), continue_on_error=False)
    assert outcomes == [Outcome(204), outcomes[1]] and outcomes[1].status == 412
    assert [r.get("msdyn_quotenumber") for r in quotes] == ["Q-0", None, None]


def test_an_update_applied_twice_with_the_same_version_is_refused_the_second_time(quotes, sales_client):
    assert sales_client.batch_update(updates(['W/"7"']))[0].status == 204
    assert sales_client.batch_update(updates(['W/"7"']))[0].code == STALE


def test_an_unknown_column_fails_its_update_only(quotes, sales_client):
    outcomes = sales_client.batch_update(updates(['W/"7"', 'W/"7"'], {"msdynce_quotenumber": "X"}))
    assert [(o.status, o.code) for o in outcomes] == [(400, "0x0")] * 2
    assert "Invalid property 'msdynce_quotenumber' was found in entity" in outcomes[0].message
