from celery import shared_task

from ..dynamics.exports import ExportError
from ..dynamics.tokens import TokenError
from ..dynamics.webapi import ApiError, CannotConnect
from ..tasks import RETRY
from . import checks, pulls
from .secrets import SecretsKeyMissing


@shared_task(acks_late=True, **RETRY)
def run_pull(pull_id: int) -> None:
    """Redelivered after a worker restart (acks_late): the pull goes on from its last page."""
    try:
        pulls.pull_run(pull_id=pull_id)
    except (ApiError, CannotConnect, TokenError, ExportError) as error:
        pulls.pull_fail(pull_id=pull_id, message=str(error))


@shared_task(acks_late=True, **RETRY)
def run_environment_check(check_id: int) -> None:
    """Reads only: a redelivered message reads the environment again."""
    try:
        checks.environment_check_run(check_id=check_id)
    except (ApiError, CannotConnect, TokenError, checks.CheckError, SecretsKeyMissing) as error:
        checks.environment_check_fail(check_id=check_id, message=str(error))
