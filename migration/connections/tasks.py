from celery import shared_task

from ..dynamics import writeback as wb
from ..dynamics.exports import ExportError
from ..dynamics.tokens import TokenError
from ..dynamics.webapi import ApiError, CannotConnect
from ..tasks import RETRY
from . import pulls, writeback


@shared_task(acks_late=True, **RETRY)
def run_pull(pull_id: int) -> None:
    """Redelivered after a worker restart (acks_late): the pull goes on from its last page."""
    try:
        pulls.pull_run(pull_id=pull_id)
    except (ApiError, CannotConnect, TokenError, ExportError) as error:
        pulls.pull_fail(pull_id=pull_id, message=str(error))


WRITE_ERRORS = (ApiError, CannotConnect, TokenError, ExportError, writeback.WritebackError, wb.PlanError)


@shared_task(name="migration.tasks.run_write_plan", acks_late=True, **RETRY)
def run_write_plan(plan_id: int) -> None:
    try:
        writeback.plan_run(plan_id=plan_id)
    except WRITE_ERRORS as error:
        writeback.write_fail(plan_id=plan_id, message=str(error))


@shared_task(name="migration.tasks.run_write_apply", acks_late=True, **RETRY)
def run_write_apply(plan_id: int) -> None:
    try:
        writeback.apply_start(plan_id=plan_id)
    except WRITE_ERRORS as error:
        writeback.write_fail(plan_id=plan_id, message=str(error))


@shared_task(name="migration.tasks.run_write_chunk", acks_late=True, **RETRY)
def run_write_chunk(plan_id: int, number: int) -> None:
    """Redelivered after a worker is killed (acks_late): the chunk is sent again, and what the
    killed attempt wrote comes back 412 already as planned: each record written once."""
    try:
        writeback.apply_chunk(plan_id=plan_id, number=number)
    except WRITE_ERRORS as error:
        writeback.write_fail(plan_id=plan_id, message=str(error))
