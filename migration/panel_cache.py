"""A step panel's reads, kept per process until the migration changes (its version, versioning.py).

Steps 2, 8 and 9 draw their panels (upload slots and the gate, every table's route, the sync
checks) from a dozen or more queries whose SQL alone takes longer to build than to run; a team
opens those pages again and again between two changes. The panel's context is a function of the
database, the settings and, for step 8's re-exports, the clock (a re-export turns stale
`P2C_REEXPORT_MAX_AGE_HOURS` after it was taken). So it is kept under the migration's version
and the settings it reads, until the moment the next re-export turns stale (a panel says so in
`fresh_until`), and read again after any commit that touched the migration.

Only the context is kept, never HTML: each request still renders it, with its own user's role,
CSRF token and messages. What is kept is read-only to the templates (nothing they call writes).
"""

import threading
from collections import OrderedDict
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Membership

# Entries per process: a panel's context is a few dozen small rows; a team works on a handful of
# migrations at a time.
SIZE = 64
# What the panels read from the settings: a change (a test's override) is another entry.
SETTINGS_READ = (
    "P2C_REEXPORT_MAX_AGE_HOURS",
    "P2C_IMPORT_PART_MB",
    "P2C_MAX_UPLOAD_MB",
    "P2C_SYNC_UPLOAD_MB",
)

_lock = threading.Lock()
_kept: OrderedDict[tuple, tuple[datetime | None, dict]] = OrderedDict()


def _key(path: str, membership: Membership) -> tuple | None:
    migration = membership.migration
    version = getattr(membership, "version", None)  # read with the membership (selectors.membership_get)
    if version is None:
        return None
    # created_at too: a database made again (tests, a restore) gives ids and versions anew.
    reads = tuple(getattr(settings, name, None) for name in SETTINGS_READ)
    return path, migration.pk, migration.created_at, version, reads


def panel_context(path: str, membership: Membership) -> dict:
    """The context of the panel built by `path` (a runbook.Panel's `context`), kept or built now."""
    build = import_string(path)
    key = _key(path, membership)
    if key is None:
        return build(membership)
    now = timezone.now()
    with _lock:
        found = _kept.get(key)
        if found is not None and (found[0] is None or now < found[0]):
            _kept.move_to_end(key)
            return found[1]
    context = build(membership)
    with _lock:
        _kept[key] = (context.get("fresh_until"), context)
        while len(_kept) > SIZE:
            _kept.popitem(last=False)
    return context


def panel_cache_clear() -> None:
    with _lock:
        _kept.clear()
