import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2cwizard.settings")

app = Celery("p2cwizard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["migration.connections"])  # its tasks.py: pulls from Sales
