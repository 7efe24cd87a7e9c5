"""manage.py p2c_dataverse read TABLE OUTPUT.csv --url URL: one of the nine Sales tables read
through the Dataverse Web API and written as the maker portal's CSV export, which the engine reads.
manage.py p2c_dataverse check --url URL [--company USMF ...] [--customer-group [USMF=]10]
[--language [USMF=]en-us]: steps 3 to 7 and step 8's readiness in the environment; exit 0 ready,
1 findings (listed, step by step), 2 cannot connect (why).

Credentials from P2C_TENANT_ID, P2C_CLIENT_ID, P2C_CLIENT_SECRET (an app registration), or
P2C_ACCESS_TOKEN. Exit 0: written. Exit 2: bad usage, or the environment could not be read (why,
on one line); no output is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

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
        actions = parser.add_subparsers(dest="action", required=True, metavar="read|check")
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

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "check":
            return self.check(**options)
        try:
            client = client_from_env(
                options["url"],
                os.environ,
                authority_url=settings.P2C_AUTHORITY_URL,
                redis_url=settings.P2C_DYNAMICS_PAUSES_URL,
                concurrency=settings.P2C_DYNAMICS_CONCURRENCY,
            )
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
