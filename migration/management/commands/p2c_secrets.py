"""manage.py p2c_secrets rotate: after a new key was put first in P2C_SECRETS_KEY, every stored
secret re-encrypted with it, so the old key can then be removed (docs/security.md, "Rotating
P2C_SECRETS_KEY"). All or nothing; run again, it moves nothing. Exit 0 done, 1 a secret no key
decrypts (nothing changed), 2 bad usage or no usable key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from migration.connections.secrets import SecretsKeyMissing
from migration.connections.services import SecretsUnreadable, secrets_rotate

from ._p2c_cli import fail


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the first key of P2C_SECRETS_KEY (after a rotation)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="rotate")
        actions.add_parser("rotate", help="re-encrypt every stored secret with the first key")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            done = secrets_rotate()
        except SecretsUnreadable as error:
            fail(str(error), 1)
        except SecretsKeyMissing as error:
            fail(str(error))
        self.stdout.write(
            f"{done.moved} secret(s) re-encrypted with the first key; "
            f"{done.current} already under it. The other keys can be removed once every "
            "process runs with this P2C_SECRETS_KEY.\n"
        )
