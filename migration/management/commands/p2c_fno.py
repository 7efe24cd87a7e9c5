"""manage.py p2c_fno read ENTITY OUTPUT.csv --url URL [--company USMF ...]: an F&O entity that
step 9 reconciles, read through OData into the columns `p2c_reconcile` reads. All companies unless
named. Credentials as p2c_dataverse's. Exit 0 written, 2 bad usage or cannot read (why)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from migration.dynamics.connect import FNO_API, CredentialsMissing, client_from_env
from migration.dynamics.fno import ENTITIES, write_fno_export
from migration.dynamics.tokens import TokenError
from migration.dynamics.webapi import ApiError, CannotConnect

from ._p2c_cli import EngineCommand, fail
from .p2c_dataverse import CANNOT_CONNECT


class Command(EngineCommand):
    help = "Read a Finance and Operations entity through OData into the file step 9 reconciles."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="read")
        read = actions.add_parser("read", help="write one entity as a data management export")
        read.add_argument("entity", choices=list(ENTITIES), metavar="ENTITY")
        read.add_argument("output", metavar="OUTPUT.csv")
        read.add_argument("--url", required=True, help="https://<name>.operations.dynamics.com")
        read.add_argument("--company", action="append", default=[], help="a company (all when none)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            client = client_from_env(
                options["url"], os.environ, api_path=FNO_API,
                authority_url=settings.P2C_AUTHORITY_URL, redis_url=settings.P2C_DYNAMICS_PAUSES_URL,
            )  # fmt: skip
            rows = write_fno_export(
                client, options["entity"], options["output"], companies=options["company"]
            )
        except (ValueError, CredentialsMissing) as error:
            fail(str(error))
        except (ApiError, CannotConnect, TokenError) as error:
            fail(f"cannot read {options['url']}: {error}", CANNOT_CONNECT)
        self.stdout.write(f"{rows} rows written to {options['output']}\n")
