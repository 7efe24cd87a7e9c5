"""manage.py p2c_dataverse read TABLE OUTPUT.csv --url URL: one of the nine Sales tables read
through the Dataverse Web API and written as the maker portal's CSV export, which the engine reads.
manage.py p2c_dataverse check --url URL [--company USMF ...] [--customer-group [USMF=]10]
[--language [USMF=]en-us]: steps 3 to 7 and step 8's readiness in the environment; exit 0 ready,
1 findings (listed, step by step), 2 cannot connect (why).
manage.py p2c_dataverse plan TABLE JOB_OUTPUT.csv PLAN.csv --url URL: step 8's write-back planned
against the records as they are (docs/connections.md); apply PLAN.csv --url URL [--batch-size N]
[--bypass-custom-logic] [--bypass-flows] writes applied.csv, failed.csv and conflicts.csv beside
the plan (exit 0 all applied, 1 some not, 2 could not run); readback PLAN.csv OUTPUT.csv --url URL
compares every planned record with the plan (exit 0 all as planned, 1 some differ).

Credentials from P2C_TENANT_ID, P2C_CLIENT_ID, P2C_CLIENT_SECRET (an app registration), or
P2C_ACCESS_TOKEN. Exit 0: written. Exit 2: bad usage, or the environment could not be read (why,
on one line); no output is left behind.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from migration.dynamics import writeback as wb
from migration.dynamics.checks import environment_findings
from migration.dynamics.connect import CredentialsMissing, client_from_env
from migration.dynamics.exports import ExportError, table_named, write_export
from migration.dynamics.tokens import TokenError
from migration.dynamics.webapi import MAX_PAGE_SIZE, ApiError, CannotConnect
from migration.engine.tables import TABLES

from ._p2c_cli import EngineCommand, fail

CANNOT_CONNECT = 2


class Command(EngineCommand):
    help = "Read a Sales table through the Dataverse Web API into a CSV export the engine reads."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="read|check|plan|apply|readback"
        )
        check = actions.add_parser("check", help="steps 3 to 7 in the environment")
        check.add_argument("--url", required=True, help="the environment, https://<name>.crm.dynamics.com")
        check.add_argument("--company", action="append", default=[], help="a legal entity (step 5)")
        check.add_argument(
            "--customer-group", action="append", default=[], metavar="[COMPANY=]GROUP",
            help="step 8's customer group (default 10), or one company's (step 6)",
        )  # fmt: skip
        check.add_argument(
            "--language", action="append", default=[], metavar="[COMPANY=]CODE",
            help="step 8's language (default en-us), or one company's",
        )  # fmt: skip
        read = actions.add_parser("read", help="write one table as an export")
        read.add_argument("table", choices=list(TABLES), metavar="TABLE")
        read.add_argument("output", metavar="OUTPUT.csv")
        read.add_argument("--url", required=True, help="the environment, https://<name>.crm.dynamics.com")
        read.add_argument("--page-size", type=int, default=MAX_PAGE_SIZE, help="records a page (1 to 5000)")
        read.add_argument(
            "--column", action="append", default=[], help="another column to read (the company rule's)"
        )

        add_writeback_arguments(actions)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "check":
            return self.check(**options)
        if options["action"] in ("plan", "apply", "readback"):
            return self.writeback(**options)
        try:
            client = self.client(options["url"])
            rows = write_export(
                client,
                table_named(options["table"]),
                Path(options["output"]),
                page_size=options["page_size"],
                extra_columns=options["column"],
            )
        except (ValueError, CredentialsMissing, ExportError) as error:
            fail(str(error))
        except (ApiError, CannotConnect, TokenError) as error:
            fail(f"cannot read {options['url']}: {error}", CANNOT_CONNECT)
        self.stdout.write(f"{rows} rows written to {options['output']}\n")

    @staticmethod
    def client(url: str):
        return client_from_env(
            url,
            os.environ,
            authority_url=settings.P2C_AUTHORITY_URL,
            redis_url=settings.P2C_DYNAMICS_PAUSES_URL,
            concurrency=settings.P2C_DYNAMICS_CONCURRENCY,
        )

    def writeback(self, **options: Any) -> None:
        try:
            client = self.client(options["url"])
            code, message = WRITEBACK[options["action"]](client, options)
        except (ValueError, CredentialsMissing, ExportError, OSError, wb.PlanError) as error:
            fail(str(error))
        except (ApiError, CannotConnect, TokenError) as error:
            fail(f"cannot use {options['url']}: {error}", CANNOT_CONNECT)
        self.stdout.write(message + "\n")
        if code:
            raise SystemExit(code)

    def check(self, **options: Any) -> None:
        try:
            client = client_from_env(options["url"], os.environ, authority_url=settings.P2C_AUTHORITY_URL)
            companies = options["company"]
            findings = environment_findings(
                client,
                companies=companies,
                customer_groups=per_company(options["customer_group"], companies, "10"),
                languages=per_company(options["language"], companies, "en-us"),
            )
        except (ValueError, CredentialsMissing) as error:
            fail(str(error))
        except (ApiError, CannotConnect, TokenError) as error:
            fail(f"cannot read {options['url']}: {error}", CANNOT_CONNECT)
        for finding in findings:
            self.stdout.write(f"step {finding.step} ({finding.item}): {finding.message}\n")
        if findings:
            raise SystemExit(1)
        self.stdout.write(
            "Ready: steps 3 to 7 and step 8's readiness found as they should be in the environment.\n"
        )


def per_company(given: list[str], companies: list[str], default: str) -> dict[str, str]:
    """{company: value} from "VALUE" (every company) and "COMPANY=VALUE" options."""
    everyone = next((g for g in reversed(given) if "=" not in g), default)
    own = dict(g.split("=", 1) for g in given if "=" in g)
    unknown = sorted(set(own) - set(companies))
    if unknown:
        raise ValueError(f"{', '.join(unknown)} is not one of the --company given.")
    return {company: own.get(company, everyone) for company in companies}


# --- step 8's write-back ------------------------------------------------------------------------


def add_writeback_arguments(actions) -> None:
    url = {"required": True, "help": "the environment, https://<name>.crm.dynamics.com"}
    plan = actions.add_parser("plan", help="plan writing a job's new values back (nothing written)")
    plan.add_argument("table", choices=list(TABLES), metavar="TABLE")
    plan.add_argument("job_output", metavar="JOB_OUTPUT.csv")
    plan.add_argument("plan", metavar="PLAN.csv")
    plan.add_argument("--url", **url)
    plan.add_argument(
        "--exported-at",
        help="when the export the job read was taken (ISO 8601, UTC); records modified later are "
        "conflicts. Default: the job output's modification time",
    )
    apply = actions.add_parser("apply", help="apply a plan's changes (If-Match on each record's version)")
    apply.add_argument("plan", metavar="PLAN.csv")
    apply.add_argument("--url", **url)
    apply.add_argument("--batch-size", type=int, default=settings.P2C_WRITEBACK_BATCH_SIZE, help="1 to 1000")
    apply.add_argument(
        "--bypass-custom-logic", action="store_true", help="MSCRM.BypassBusinessLogicExecution"
    )
    apply.add_argument(
        "--bypass-flows", action="store_true", help="MSCRM.SuppressCallbackRegistrationExpanderJob"
    )
    readback = actions.add_parser("readback", help="read the planned records again and compare")
    readback.add_argument("plan", metavar="PLAN.csv")
    readback.add_argument("output", metavar="OUTPUT.csv")
    readback.add_argument("--url", **url)


def _since(options: dict) -> datetime:
    if options["exported_at"]:
        moment = datetime.fromisoformat(options["exported_at"].replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.fromtimestamp(Path(options["job_output"]).stat().st_mtime, UTC)


def writeback_plan(client, options: dict) -> tuple[int, str]:
    table = table_named(options["table"])
    with open(options["job_output"], encoding="utf-8-sig", newline="") as file:
        headers, rows = wb.job_rows(file, table)
    target = wb.read_target(client, table, headers)
    records = wb.read_records(client, target)
    planned = wb.plan_from_job(rows, target, records, wb.Lookups(client, target), _since(options))
    counts = wb.write_plan(options["plan"], target.key, [f.logical for f in target.fields], planned)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in counts["outcomes"].items())
    return 0, f"{options['plan']}: {summary}"


def _plan_target(client, path: str):
    entity = wb.plan_table(path)
    table = next(t for t in TABLES.values() if t.entity == entity)
    fields, rows = wb.read_plan(path)
    return wb.read_target(client, table, fields), fields, rows


def writeback_apply(client, options: dict) -> tuple[int, str]:
    target, fields, rows = _plan_target(client, options["plan"])
    headers = wb.bypass_headers(logic=options["bypass_custom_logic"], flows=options["bypass_flows"])
    changes = [r for r in rows if r.outcome == "change"]
    results = wb.apply_rows(client, target, changes, batch_size=options["batch_size"], headers=headers)
    folder = Path(options["plan"]).parent
    counts = {}
    for outcome, name in (("applied", "applied"), ("failed", "failed"), ("conflict", "conflicts")):
        chosen = [a for a in results if a.outcome == outcome]
        counts[outcome] = wb.write_results(folder / f"{name}.csv", target.key, fields, chosen)
    message = f"{counts['applied']} applied, {counts['failed']} failed, {counts['conflict']} conflicts"
    message += f" (outcomes in {folder})"
    return (0 if counts["applied"] == len(changes) else 1), message


def writeback_readback(client, options: dict) -> tuple[int, str]:
    target, fields, rows = _plan_target(client, options["plan"])
    changes = [r for r in rows if r.outcome == "change"]
    matched, differ = wb.read_back(client, target, changes)
    wb.write_results(options["output"], target.key, fields, wb.read_back_rows(changes, differ))
    return (0 if not differ else 1), f"{matched} of {len(changes)} records as planned ({options['output']})"


WRITEBACK = {"plan": writeback_plan, "apply": writeback_apply, "readback": writeback_readback}
