"""Shared plumbing for the p2c_* commands: one-line errors, exit code 2, never a traceback."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from migration.engine import EngineError

USAGE_EXIT = 2


class OneLineParser(CommandParser):
    """argparse prints usage plus the error on two lines; the contract wants one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see --help)")


def fail(message: str, code: int = USAGE_EXIT) -> NoReturn:
    sys.stderr.write("error: " + " ".join(str(message).split()) + "\n")
    sys.stderr.flush()
    raise SystemExit(code)


class EngineCommand(BaseCommand):
    requires_system_checks: list[str] = []  # the engine needs no database or app checks
    requires_migrations_checks = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = OneLineParser
        return parser

    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except EngineError as e:
            fail(e.message)
        except KeyboardInterrupt:
            fail("interrupted; no output was written", 130)
        except MemoryError:
            fail("out of memory; no output was written", 1)
        except Exception as e:  # a bug: still one line, never a traceback
            fail(f"unexpected {type(e).__name__}: {e}; no output was written; please report this", 1)
