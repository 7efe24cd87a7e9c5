"""Create the first administrator, once, with a generated password.

`make run` calls this on every start: only the very first run creates an
account, so a password someone has since changed is never reset.
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from migration.access import PROJECT_MANAGERS

CREATE_MIGRATIONS_HINT = (
    f"Creating migrations needs the “{PROJECT_MANAGERS}” group: add each project manager to it in "
    "Admin > Users > (the user) > Groups, at /admin/auth/user/ once the site runs."
)


class Command(BaseCommand):
    help = "Create an administrator with a generated password unless one exists."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        existing = User.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            self.stdout.write(
                f"An administrator exists ({existing.get_username()}). To reset its password run:\n"
                f"  .venv/bin/python manage.py changepassword {existing.get_username()}"
            )
            return
        username = os.environ.get("P2C_ADMIN_USER", "").strip() or "admin"
        if User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
            raise CommandError(
                f"A user {username!r} exists but is not an administrator: set P2C_ADMIN_USER to another "
                f"name, or run: .venv/bin/python manage.py createsuperuser"
            )
        # token_urlsafe(18) gives 24 characters, ~144 bits of entropy.
        password = secrets.token_urlsafe(18)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS("Created the administrator. Sign in with:")
            + f"\n  user name: {username}\n  password:  {password}\n"
            "Keep the password now: it is shown only this once.\n" + CREATE_MIGRATIONS_HINT
        )
