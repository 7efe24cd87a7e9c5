"""Benchmark: writing new values back to 300,000 orders in the test emulator, by batch size and
concurrency.

    .venv/bin/python bench/apply.py [--records 300000] [--sizes 10 100 1000] [--concurrency 1 4]
                                    [--dir /tmp/p2c-bench-apply]

Starts what the tests start (tests/entra.py's OpenID provider for a real MSAL token; the Dataverse
emulator of tests/dataverse_emulator.py in its own process, strict about metadata, with If-Match),
then applies the planned changes of the orders through migration/dynamics/writeback.apply_rows, as
the apply's Celery tasks do: each configuration writes its own share of the records (so every
update is a real change with its planned etag), `concurrency` threads standing for that many
workers, one client between them. Prints records per second for each configuration, and where the
time goes: waiting for the emulator's answers versus building the requests and reading the answers
here. The emulator is a single Python process: its figures say how our side scales with the batch
size, not what Dataverse takes (its limits: 6,000 requests and 20 minutes of execution time per
user per 5 minutes, 52 concurrent requests; docs/connections.md).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2cwizard.settings")
COMPANY = "c0000000-0000-0000-0000-00000000005f"

EMULATOR = textwrap.dedent(
    """
    import sys, uuid
    from tests.dataverse_emulator import Emulator
    from tests.entra import TestCA

    ca = TestCA.__new__(TestCA)
    ca.ca_file, ca.cert_file, ca.key_file = sys.argv[2:5]
    env = Emulator(ca, issuer=sys.argv[1])
    columns = {"msdyn_company": "Lookup", "msdyn_ordertype": "Picklist", "shipto_country": "String",
               "modifiedon": "DateTime", "statecode": "State"}
    rows = [{"salesorderid": str(uuid.UUID(int=n)), "modifiedon": "2021-01-03T00:00:00Z", "statecode": 0}
            for n in range(int(sys.argv[5]))]
    env.add_table("salesorders", "salesorder", "salesorderid", columns, rows,
                  max_lengths={"shipto_country": 80},
                  options={"msdyn_ordertype": {192350000: "Item based", 192350001: "Service based"}},
                  navigation={"msdyn_CompanyRef": ("msdyn_company", "cdm_company", "cdm_companies")})
    env.add_table("cdm_companies", "cdm_company", "cdm_companyid", ["cdm_companycode"],
                  [{"cdm_companyid": sys.argv[6], "cdm_companycode": "USMF"}])
    print(env.url, flush=True)
    sys.stdin.read()
    """
)


class Timed:
    """The session's requests, their time in flight summed (threads overlap: it can exceed the wall)."""

    def __init__(self, session):
        self.session, self.seconds, self.lock = session, 0.0, threading.Lock()

    def request(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.session.request(*args, **kwargs)
        finally:
            with self.lock:
                self.seconds += time.perf_counter() - started


def run(wb, url, tokens, target, rows, size: int, concurrency: int) -> None:
    """One configuration: `concurrency` threads, each applying its slice as a worker's tasks do."""
    from migration.dynamics.webapi import WebApiClient

    client = WebApiClient(url, tokens=tokens, max_concurrency=concurrency)
    client.session = Timed(client.session)
    results: list = []

    def worker(part):
        results.extend(wb.apply_rows(client, target, part, batch_size=size))

    threads = [threading.Thread(target=worker, args=(rows[i::concurrency],)) for i in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    applied = sum(1 for r in results if r.outcome == "applied")
    waiting = client.session.seconds / concurrency
    print(
        f"batch {size:>5}, {concurrency} at once: {applied:,} of {len(rows):,} applied in {seconds:.1f} s, "
        f"{applied / seconds:,.0f} records/s; {client.traffic.requests} requests; waiting for the "
        f"answers {min(waiting / seconds, 1):.0%} of the time (load average {load_average()})"
    )


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "p2c-bench-apply")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from migration.dynamics import writeback as wb
    from migration.dynamics.exports import table_named
    from migration.dynamics.tokens import ClientCredentials
    from migration.dynamics.webapi import WebApiClient
    from tests.entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT, EntraProvider, TestCA

    ca = TestCA(args.dir / "ca")
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca.ca_file)
    provider = EntraProvider(args.dir, ca, "https://127.0.0.1:1")
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, provider.issuer,
         *(str(f) for f in (ca.ca_file, ca.cert_file, ca.key_file)), str(args.records), COMPANY],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    configs = list(itertools.product(args.sizes, args.concurrency))
    share = args.records // len(configs)
    print(f"load average before: {load_average()}; {share:,} orders per configuration")
    try:
        url = emulator.stdout.readline().strip()
        tokens = ClientCredentials(
            resource=url, tenant_id=TENANT, client_id=DAEMON_CLIENT_ID,
            client_secret=DAEMON_CLIENT_SECRET, authority_url=provider.authority_url,
        )  # fmt: skip
        probe = WebApiClient(url, tokens=tokens)
        target = wb.read_target(
            probe, table_named("order"), ["Company", "Order Type", "Ship To Country/Region"]
        )
        for n, (size, concurrency) in enumerate(configs):
            rows = [
                wb.PlanRow(
                    str(uuid.UUID(int=i)), "change", etag='W/"1"',
                    before={"msdyn_company": "", "msdyn_ordertype": "", "shipto_country": ""},
                    after={"msdyn_company": f"/cdm_companies({COMPANY})", "msdyn_ordertype": "192350000",
                           "shipto_country": "Norway"},
                )
                for i in range(n * share, (n + 1) * share)
            ]  # fmt: skip
            run(wb, url, tokens, target, rows, size, concurrency)
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)
        provider.stop()


if __name__ == "__main__":
    main()
