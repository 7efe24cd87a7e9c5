from celery import shared_task

from ..dynamics.exports import ExportError
from ..dynamics.tokens import TokenError
from ..dynamics.webapi import ApiError, CannotConnect
from ..tasks import RETRY
from . import pulls


@shared_task(acks_late=True, **RETRY)
def run_pull(pull_id: int) -> None:
    """Redelivered after a worker restart (acks_late): the pull goes on from its last page."""
    try:
        pulls.pull_run(pull_id=pull_id)
    except (ApiError, CannotConnect, TokenError, ExportError) as error:
        pulls.pull_fail(pull_id=pull_id, message=str(error))
