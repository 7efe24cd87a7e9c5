"""Benchmark: the memory and time of triaging a large error log (issue 22: a 400 MB CSV took a
worker to 1.36 GB).

    .venv/bin/python bench/triage.py [--mb 400] [--dir /tmp/p2c-bench-triage] [--with-output]

Generates an error log as the initial sync's error file (Record key, Company, Error message), about
`--mb` megabytes of documented and undocumented messages, most naming their own key and value (so
nearly every message is distinct); with `--with-output`, also a step-8 account output of the same
keys to tie the errors to. Then triages it in a fresh subprocess as the worker does (list written as
read, 200 rows kept) and prints seconds, rows and peak RSS. Prints figures; asserts nothing.
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
LOOKUP = (
    "Couldn't resolve the guid for the field: msdyn_customergroupid.msdyn_groupid. The lookup wasn't found: "
    "{value}. Try this URL(s) to check if the reference data exists: https://org.crm.dynamics.com/api/data/"
    "v9.0/msdyn_customergroups?$select=msdyn_groupid&$filter=msdyn_groupid eq '{value}' (record {key})"
)
LOCATION = (
    "Unable to write data to entity msdyn_partypostaladdresses. Writes to "
    "DirPartyPostalAddressLocationCDSEntity failed with error message Request failed with status code "
    "BadRequest and CDS error code: 0x80040265 "
    "response message: An error occurred in plugin. A record that has the attribute values Location ID "
    "already exists. Record {key}."
)
VERSION = (
    "Customer groups (msdyn_customergroups) : Dual write failure - Dynamics 365 for Sales solution "
    "'Dynamics365Company' has version mismatch. Version: '2.0.2.10' Required version: '2.0.133'"
)
UNKNOWN = "Something no article documents happened to record {key} at step {value}."


def generate(mb: int, folder: str, with_output: bool) -> tuple[str, str | None]:
    rows = max(int(mb * 2**20 / 330), 1000)
    ids = np.arange(rows)
    keys = np.char.add("AC", np.char.zfill(ids.astype(str), 8))
    values = (ids % 97).astype(str)
    kind = np.random.default_rng(7).random(rows)
    templates = [
        LOOKUP if k < 0.8 else LOCATION if k < 0.9 else VERSION if k < 0.95 else UNKNOWN for k in kind
    ]
    # One text per row, as a real log: nearly every message distinct.
    messages = [
        t.format(key=k, value=v) for t, k, v in zip(templates, keys.tolist(), values.tolist(), strict=True)
    ]
    company = np.where(ids % 3 == 0, "demf", "usmf")
    os.makedirs(folder, exist_ok=True)
    log = os.path.join(folder, "initial-sync-errors.csv")
    pacsv.write_csv(
        pa.table(
            {
                "Record key": pa.array(keys.astype(str)),
                "Company": pa.array(company.astype(str)),
                "Error message": pa.array(messages, pa.string()),
            }
        ),
        log,
    )
    ours = None
    if with_output:
        ours = os.path.join(folder, "account_out.csv")
        pacsv.write_csv(
            pa.table(
                {
                    "Account Number": pa.array(keys.astype(str)),
                    "Company": pa.array(np.char.upper(company).astype(str)),
                    "Relationship Type": pa.array(["Customer"] * rows),
                }
            ),
            ours,
        )
    return log, ours


RUN = textwrap.dedent(
    """
    import resource, sys, time
    t0 = time.perf_counter()
    from migration.engine.step9.triage import triage_errors
    t1 = time.perf_counter()
    ours = sys.argv[3] if len(sys.argv) > 3 else None
    t = triage_errors(sys.argv[1], outputs=ours, table="account", list_path=sys.argv[2], keep=200)
    t2 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    causes = {c["cause"]: c["errors"] for c in t.causes()}
    print(f"import {t1 - t0:.2f} s; triage {t2 - t1:.1f} s; {t.total:,} errors, {t.tied:,} tied; {causes}")
    print(f"peak RSS {peak:.0f} MB")
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=400)
    parser.add_argument("--dir", default="/tmp/p2c-bench-triage")
    parser.add_argument("--with-output", action="store_true")
    args = parser.parse_args()
    log, ours = generate(args.mb, args.dir, args.with_output)
    size = os.path.getsize(log) / 2**20
    print(f"generated an error log of {size:.0f} MB in {args.dir}" + (" and our output" if ours else ""))
    listed = os.path.join(args.dir, "errors.csv")
    subprocess.run([sys.executable, "-c", RUN, log, listed, *([ours] if ours else [])], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
