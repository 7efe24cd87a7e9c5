"""Shared plumbing for the p2c_* commands: one-line errors, exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Any, NoReturn

import pyarrow as pa
from django.core.management.base import BaseCommand, CommandParser, handle_default_options

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


# Commands that use the engine alone: no app, model, database or setting.
ENGINE_COMMANDS = ("p2c_transform", "p2c_check", "p2c_verify", "p2c_reconcile", "p2c_triage")
# Of those, the ones that never hand a pandas object to arrow (reconcile and triage do).
WITHOUT_PANDAS = ("p2c_transform", "p2c_check", "p2c_verify")


class _NoPandas:
    """A meta path finder (the protocol, not importlib.abc's class: importing that costs 15 ms)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ImportError("pandas is not needed by this command")


def _arrow_without_pandas() -> None:
    """pyarrow imports pandas (0.3-0.6 s) on its first pa.array(), only to ask whether the value
    is a pandas object; these commands never pass one. Let that one look find no pandas: arrow
    remembers the answer, and a later to_pandas() would still import pandas as usual."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([""])
    finally:
        sys.meta_path.remove(finder)


def run_without_django_setup(argv: list[str]) -> None:
    """`manage.py <engine command> ...` without django.setup(): loading every app (admin, Celery,
    axes, ...) costs about half a second, a quarter of a million-row transform. The command,
    its parser, options and exit codes are the very ones `manage.py` runs."""
    if argv[1] in WITHOUT_PANDAS:
        _arrow_without_pandas()
    module = importlib.import_module(f"migration.management.commands.{argv[1]}")
    command = module.Command()
    command._called_from_command_line = True
    parser = command.create_parser(argv[0], argv[1])
    options = vars(parser.parse_args(argv[2:]))
    args = options.pop("args", ())
    handle_default_options(argparse.Namespace(**options))
    command.execute(*args, **options)
