"""Benchmark: a pull of 1,000,000 orders at 5,000 per page from the test emulator.

    .venv/bin/python bench/pull.py [--rows 1000000] [--page-size 5000] [--dir /tmp/p2c-bench-pull]

Starts what the tests start (tests/entra.py's OpenID provider, for a real MSAL token; the
Dataverse emulator of tests/dataverse_emulator.py, in its own process so that its memory is not
counted), then reads the orders through the client into an export file (migration/dynamics/
exports.write_export, as `p2c_dataverse read` and a pull do) and prints rows per second and this
process's resident memory after the first page, half way, and at the end (flat: pages are written
as they come, never held). Needs node and `npm ci --prefix tests/oidc_provider` (make test does).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2cwizard.settings")

EMULATOR = textwrap.dedent(
    """
    import sys, uuid
    from tests.dataverse_emulator import Emulator
    from tests.entra import TestCA

    class Orders:
        # One million rows without holding them: each page is made when it is asked for.
        def __init__(self, count):
            self.count = count
        def __len__(self):
            return self.count
        def __getitem__(self, cut):
            return [self.row(n) for n in range(*cut.indices(self.count))]
        @staticmethod
        def row(n):
            return {
                "salesorderid": str(uuid.UUID(int=n)), "ordernumber": f"ORD-{n:08d}", "name": f"Order {n}",
                "_customerid_value": str(uuid.UUID(int=n % 5000)),
                "_customerid_value@OData.Community.Display.V1.FormattedValue": f"Customer {n % 5000}",
                "requestdeliveryby": "2026-03-27T00:00:00Z",
                "requestdeliveryby@OData.Community.Display.V1.FormattedValue": "3/27/2026",
                "shipto_country": "Norway",
            }

    ca = TestCA.__new__(TestCA)
    ca.ca_file, ca.cert_file, ca.key_file = sys.argv[2:5]
    env = Emulator(ca, issuer=sys.argv[1])
    columns = {"ordernumber": "String", "name": "String", "customerid": "Customer",
               "requestdeliveryby": "DateTime", "shipto_country": "String"}
    env.add_table("salesorders", "salesorder", "salesorderid", columns)
    env.tables["salesorders"].rows = Orders(int(sys.argv[5]))
    print(env.url, flush=True)
    sys.stdin.read()
    """
)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--page-size", type=int, default=5000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "p2c-bench-pull")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from migration.dynamics.exports import table_named, write_export
    from migration.dynamics.tokens import ClientCredentials
    from migration.dynamics.webapi import WebApiClient
    from tests.entra import DAEMON_CLIENT_ID, DAEMON_CLIENT_SECRET, TENANT, EntraProvider, TestCA

    ca = TestCA(args.dir / "ca")
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca.ca_file)
    provider = EntraProvider(args.dir, ca, "https://127.0.0.1:1")
    emulator = subprocess.Popen(
        [sys.executable, "-c", EMULATOR, provider.issuer,
         *(str(f) for f in (ca.ca_file, ca.cert_file, ca.key_file)), str(args.rows)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = emulator.stdout.readline().strip()
        tokens = ClientCredentials(
            resource=url, tenant_id=TENANT, client_id=DAEMON_CLIENT_ID,
            client_secret=DAEMON_CLIENT_SECRET, authority_url=provider.authority_url,
        )  # fmt: skip
        client = WebApiClient(url, tokens=tokens)
        marks: dict[str, float] = {}
        half = args.rows // 2

        def on_page(page, rows):
            if page.number == 1:
                marks["after the first page"] = rss_mb()
            if rows - len(page.records) < half <= rows:
                marks["half way"] = rss_mb()

        started = time.perf_counter()
        rows = write_export(client, table_named("order"), args.dir / "orders.csv",
                            page_size=args.page_size, on_page=on_page)  # fmt: skip
        seconds = time.perf_counter() - started
        marks["at the end"] = rss_mb()
    finally:
        emulator.stdin.close()
        emulator.wait(timeout=30)
        provider.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = (args.dir / "orders.csv").stat().st_size / 2**20
    print(
        f"{rows:,} orders in {seconds:.1f} s at {args.page_size:,} per page: "
        f"{rows / seconds:,.0f} rows/s ({size:.0f} MB)"
    )
    print(
        "resident memory: " + ", ".join(f"{k} {v:.0f} MB" for k, v in marks.items()) + f"; peak {peak:.0f} MB"
    )


if __name__ == "__main__":
    main()
