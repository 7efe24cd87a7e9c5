"""Service-protection pauses, shared by every request of one connection.

Dataverse answers 429 with Retry-After when a user sends too much; every request of that user
must wait, or the server lengthens the wait. With Redis (REDIS_URL) the pause is shared by every
worker process; embedded, by the threads of one process.
https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#retry-operations
"""

import threading
import time
from collections.abc import Callable

# Keeps the later of the stored and the new time, so a shorter Retry-After never shortens a pause.
_LATER_OF = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
"""


class LocalPauses:
    """Pauses known to this process only (the embedded setup: one worker)."""

    def __init__(self, *, clock: Callable[[], float] = time.time):
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()
        self.clock = clock

    def pause(self, key: str, seconds: float) -> None:
        with self._lock:
            self._until[key] = max(self._until.get(key, 0.0), self.clock() + seconds)

    def until(self, key: str) -> float:
        with self._lock:
            return self._until.get(key, 0.0)


class RedisPauses:
    """Pauses every worker sees: one key per connection, holding the time the pause ends."""

    def __init__(self, redis_client, *, prefix: str = "p2c:dynamics:pause:", clock=time.time):
        self.redis = redis_client
        self.prefix = prefix
        self.clock = clock
        self._later_of = redis_client.register_script(_LATER_OF)

    def pause(self, key: str, seconds: float) -> None:
        until = self.clock() + seconds
        self._later_of(keys=[self.prefix + key], args=[repr(until), int(seconds * 1000) + 1000])

    def until(self, key: str) -> float:
        value = self.redis.get(self.prefix + key)
        return float(value) if value else 0.0


def wait_out(pauses, key: str, *, sleep=time.sleep) -> float:
    """Sleep until the connection's pause is over (it may be lengthened meanwhile); the seconds
    waited."""
    waited = 0.0
    while (left := pauses.until(key) - pauses.clock()) > 0:
        sleep(left)
        waited += left
    return waited


def pauses_for(redis_url: str | None):
    """Shared through Redis when there is one, in the process otherwise."""
    if not redis_url:
        return LocalPauses()
    import redis

    return RedisPauses(redis.Redis.from_url(redis_url))
