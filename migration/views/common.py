"""What the views of several areas share."""

from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse

from .. import runbook


def back_to_step(migration_id: int, number: int, anchor: str = "") -> HttpResponseRedirect:
    slug = runbook.STEPS_BY_NUMBER[number].slug
    return redirect(reverse("runbook", kwargs={"migration_id": migration_id, "step": slug}) + anchor)


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")
