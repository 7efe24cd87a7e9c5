from celery import shared_task

from ..dynamics import writeback as wb
from ..dynamics.exports import ExportError
from ..dynamics.tokens import TokenError
from ..dynamics.webapi import ApiError, CannotConnect
from ..tasks import RETRY
from . import checks, pulls, writeback
from .secrets import SecretsKeyMissing, secret_unseal


@shared_task(acks_late=True, **RETRY)
def run_pull(pull_id: int, sealed_token: str = "") -> None:
    """Redelivered after a worker restart (acks_late): the pull goes on from its last page, with
    the token given for it if any (sealed in this message, see secrets.secret_seal_for)."""
    try:
        access_token = secret_unseal(sealed_token) if sealed_token else ""
        pulls.pull_run(pull_id=pull_id, access_token=access_token)
    except (ApiError, CannotConnect, TokenError, ExportError, SecretsKeyMissing) as error:
        pulls.pull_fail(pull_id=pull_id, message=str(error))


@shared_task(acks_late=True, **RETRY)
def run_environment_check(check_id: int, sealed_token: str = "") -> None:
    """Reads only: a redelivered message reads the environment again (with the token given for it,
    if any, sealed in this message)."""
    try:
        access_token = secret_unseal(sealed_token) if sealed_token else ""
        checks.environment_check_run(check_id=check_id, access_token=access_token)
    except (ApiError, CannotConnect, TokenError, checks.CheckError, SecretsKeyMissing) as error:
        checks.environment_check_fail(check_id=check_id, message=str(error))


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
