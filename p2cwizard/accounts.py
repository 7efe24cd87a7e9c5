"""Sign-in pieces that belong to the project, not to the migration app."""

from django.conf import settings
from django.shortcuts import render


def locked_out(request, credentials, *args, **kwargs):
    """django-axes' answer to a locked-out sign-in: say for how long, and who can lift it."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
