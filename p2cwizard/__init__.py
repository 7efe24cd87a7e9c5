# Importing the Celery app here makes `.delay()` use our broker settings;
# without it Celery silently falls back to AMQP on localhost.
from .celery import app as celery_app

__all__ = ("celery_app",)
