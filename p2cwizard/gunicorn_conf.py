"""gunicorn's sizing, one for `manage.py serve`, the Docker image and Compose's web service.

gunicorn reads this module's `workers`, `threads` and `keepalive` (`--config
python:p2cwizard.gunicorn_conf`); `serve` passes the same numbers on its command line.
"""

import os

from p2cwizard.settings import env_int


def web_sizing() -> tuple[int, int]:
    """The web server's processes and threads per process."""
    # Pages spend their time in Python (the ORM, templates), not waiting: threads of one process
    # queue on its interpreter lock. So gunicorn's advice, two processes per core plus one, with
    # two threads each for database round trips (bench/load.py at 50 users on 2 cores: the light
    # pages' p95 about halves against 2 x 4). Overridable for small or shared boxes.
    processes = env_int("P2C_WEB_PROCESSES", 2 * (os.cpu_count() or 1) + 1, minimum=1)
    threads = env_int("P2C_WEB_THREADS", 2, minimum=1)
    return processes, threads


workers, threads = web_sizing()


# Seconds an idle kept-alive connection stays open. gunicorn's default (2 s) is no longer than the
# pages' status poll (1.5 s while something runs, 5 s otherwise): the server closed a connection
# just as the browser sent its next poll on it, and that request was lost ("Server disconnected
# without sending a response": 56 in one 50-user run on the embedded default). Longer than any
# poll, and longer than a load balancer's usual idle timeout (60 s), so that the proxy in front,
# not gunicorn, closes an idle connection first. gthread keeps idle connections in its poller,
# not in a thread.
KEEPALIVE_SECONDS = 75

keepalive = KEEPALIVE_SECONDS
