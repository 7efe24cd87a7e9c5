"""How local passwords are stored and checked: Argon2id with OWASP's minimum, checks bounded per process.

Argon2id with OWASP's minimum (Password Storage Cheat Sheet: 19 MiB of memory, 2 iterations,
1 degree of parallelism) costs a few tens of milliseconds of one core; the PBKDF2 it replaces
(Django's 1,000,000 iterations) about a second, and 50 people signing in at a workshop's start
took every web thread for a minute. A PBKDF2 hash is replaced by an Argon2id one at its user's
next sign-in (Django re-hashes when the stored hash is not the first hasher's).

Password hashing is bounded per process (`P2C_PASSWORD_CHECKS` at once, 1 by default): with
gunicorn's two threads per process, a burst of sign-ins queues on the semaphore while the other
thread keeps serving pages, instead of every thread of every process hashing at once and every
page waiting behind them. The bound is here, in the hashers, not in the sign-in view or the
backend, so that every path that hashes is held to it: the sign-in form and the admin's, the
dummy hash Django runs for an unknown user name (so that it answers as slowly as for a known
one), a password change and the re-hash of an upgrade.
"""

import threading

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher


def _checks_at_once() -> int:
    return getattr(settings, "P2C_PASSWORD_CHECKS", 1)


class _Bound:
    """A process-wide semaphore, made on first use (settings are read then, not at import)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._semaphore: threading.BoundedSemaphore | None = None

    def __enter__(self) -> None:
        if self._semaphore is None:
            with self._lock:
                if self._semaphore is None:
                    self._semaphore = threading.BoundedSemaphore(_checks_at_once())
        self._semaphore.acquire()

    def __exit__(self, *exc) -> None:
        self._semaphore.release()


PASSWORD_CHECKS = _Bound()


class Argon2idHasher(Argon2PasswordHasher):
    """Django's Argon2 hasher (Argon2id) with OWASP's minimum parameters instead of Django's
    (100 MiB, parallelism 8: a sign-in would take 8 threads' worth of a 2-core machine)."""

    # The algorithm name stays Django's: hashes read the same, and ones made with other
    # parameters are re-hashed at the next sign-in (must_update compares them).
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password, salt):
        with PASSWORD_CHECKS:
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with PASSWORD_CHECKS:
            return super().verify(password, encoded)


class BoundedPBKDF2Hasher(PBKDF2PasswordHasher):
    """Django's PBKDF2, for the hashes made before Argon2id, held to the same bound (its
    `verify` and `harden_runtime` hash through `encode`)."""

    def encode(self, password, salt, iterations=None):
        with PASSWORD_CHECKS:
            return super().encode(password, salt, iterations)
