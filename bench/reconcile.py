"""Benchmark: p2c reconciliation of 1,000,000 accounts against a 1,000,000-row Customers V3 export.

    .venv/bin/python bench/reconcile.py [--rows 1000000] [--dir /tmp/p2c-bench-reconcile]

Generates our step-8 account output (CSV, two companies, 1% prospects that must not count) and an
F&O export (lower-case company, 0.5% missing, 0.5% in another customer group, 0.1% extra), then
runs the reconciliation in a fresh subprocess and prints seconds and peak RSS, plus the missing
file's writing time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _text(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(str), pa.string())


def generate(rows: int, folder: str) -> tuple[str, str]:
    rng = np.random.default_rng(7)
    ids = np.arange(rows)
    numbers = np.char.add("AC", np.char.zfill(ids.astype(str), 8))
    company = np.where(ids % 3 == 0, "DEMF", "USMF")
    relation = np.where(rng.random(rows) < 0.01, "Prospect", "Customer")
    ours = pa.table(
        {
            "(Do Not Modify) Account": _text(
                np.char.add("00000000-0000-0000-0000-", np.char.zfill(ids.astype(str), 12))
            ),
            "(Do Not Modify) Row Checksum": pa.array(["ck=="] * rows),
            "(Do Not Modify) Modified On": pa.array(["1/3/2021 6:30 AM"] * rows),
            "Account Number": _text(numbers),
            "Account Name": _text(np.char.add("Customer, number ", ids.astype(str))),
            "Address 1: City": pa.array(["Redmond"] * rows),
            "Company": _text(company),
            "Relationship Type": _text(relation),
            "Customer Group Id": pa.array(["10"] * rows),
            "Party Number": _text(numbers),
        }
    )
    synced = (relation == "Customer") & (rng.random(rows) >= 0.005)
    group = np.where(rng.random(rows) < 0.005, "20", "10")
    extra = max(rows // 1000, 1)
    fno_numbers = np.concatenate(
        [numbers[synced], np.char.add("FO", np.char.zfill(np.arange(extra).astype(str), 8))]
    )
    fno_company = np.concatenate([np.char.lower(company[synced]), np.full(extra, "usmf")])
    fno_group = np.concatenate([group[synced], np.full(extra, "10")])
    n = len(fno_numbers)
    fno = pa.table(
        {
            "CUSTOMERACCOUNT": _text(fno_numbers),
            "DATAAREAID": _text(fno_company),
            "PARTYNUMBER": _text(fno_numbers),
            "CUSTOMERGROUPID": _text(fno_group),
            "PARTYTYPE": pa.array(["Organization"] * n),
            "ORGANIZATIONNAME": pa.array(["Some customer"] * n),
            "LANGUAGEID": pa.array(["en-us"] * n),
        }
    )
    os.makedirs(folder, exist_ok=True)
    ours_path, fno_path = os.path.join(folder, "account_out.csv"), os.path.join(folder, "CustomersV3.csv")
    pacsv.write_csv(ours, ours_path)
    pacsv.write_csv(fno, fno_path)
    return ours_path, fno_path


RUN = textwrap.dedent(
    """
    import resource, sys, time
    t0 = time.perf_counter()
    from migration.engine.step9.reconcile import reconcile_sync
    t1 = time.perf_counter()
    r = reconcile_sync("account", sys.argv[1], sys.argv[2])
    t2 = time.perf_counter()
    written = r.write_missing(sys.argv[3])
    t3 = time.perf_counter()
    t = r.totals()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"import {t1 - t0:.2f} s; reconcile {t2 - t1:.2f} s; missing file ({written} rows) {t3 - t2:.2f} s")
    print(f"totals {t}; differences {len(r.differences)}")
    print(f"peak RSS {peak:.0f} MB")
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", default="/tmp/p2c-bench-reconcile")
    args = parser.parse_args()
    ours, fno = generate(args.rows, args.dir)
    mb = (os.path.getsize(ours) + os.path.getsize(fno)) / 2**20
    print(f"generated {args.rows:,} output rows and the F&O export ({mb:.0f} MB) in {args.dir}")
    missing = os.path.join(args.dir, "missing.csv")
    subprocess.run([sys.executable, "-c", RUN, ours, fno, missing], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
