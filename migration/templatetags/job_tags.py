"""How long a job ran, as people say it: "3 s", "2 min 5 s", "1 h 4 min" (timesince says "0 minutes")."""

from django import template
from django.utils import timezone

register = template.Library()


def duration_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def elapsed(job) -> str:
    """The job's running time so far (or in all, once finished); empty before it started."""
    if not job or not job.started_at:
        return ""
    end = job.finished_at or timezone.now()
    return duration_text(max(0, int((end - job.started_at).total_seconds())))


@register.filter
def duration(seconds) -> str:
    """Seconds as people say them ("2 min 5 s"); empty when unknown."""
    return "" if seconds is None else duration_text(int(seconds))
