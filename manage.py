#!/usr/bin/env python
"""Django's command-line utility for P2C Wizard."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2cwizard.settings")
    if len(sys.argv) > 1 and sys.argv[1].startswith("p2c_"):
        from migration.management.commands import _p2c_cli

        if sys.argv[1] in _p2c_cli.ENGINE_COMMANDS:
            _p2c_cli.run_without_django_setup(sys.argv)
            return
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
