"""What every upload passes, in one place: the size limit while it arrives, then the user's pace and
the migration's quota before anything is stored.

Every view that receives files is wrapped in `receives_uploads`; a test posts to each of them.
"""

from functools import partial, wraps

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from . import quota
from .access import WORK, membership_required
from .models import Migration


def limit_mb() -> int:
    return settings.P2C_MAX_UPLOAD_MB


def limit_bytes() -> int:
    return limit_mb() * 1024 * 1024


def over_limit(size: int) -> bool:
    return size > limit_bytes()


class SizeLimitHandler(FileUploadHandler):
    """First in the chain: counts the bytes of each file and of the request, and stops it past the
    limit. The view then finds `request.upload_refused` set and explains."""

    received = 0  # bytes of every file so far

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if start + len(raw_data) > limit_bytes():
            name = self.file_name or "The file"
            self._refuse(f"{name} is larger than the {limit_mb()} MB limit.", one_file=True)
        elif self.received > limit_bytes():
            self._refuse(
                f"These files together are larger than the {limit_mb()} MB limit of one upload: "
                "upload the parts one by one.",
                one_file=False,
            )
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers build the file

    def _refuse(self, message: str, *, one_file: bool):
        self.request.upload_refused = message
        self.request.upload_file_too_large = one_file  # the view's advice is about one file
        # Read the rest of the body without keeping it, so the browser gets the answer.
        raise StopUpload(connection_reset=False)


def receives_uploads(view=None, *, pasted: str = ""):
    """Put the size limit in front of the upload handlers of a view that receives files, then hold
    the files to the pace and quota under the migration's lock, which the view keeps until it
    stored them (two uploads at once cannot both take the last space).

    `pasted`: a text field whose text is kept as a file (step 9's error details copied from the
    portal); it becomes one of the request's files first, so it counts like any other.

    The handlers must be set before anything reads the body, and the CSRF middleware reads it:
    so the check moves inside, after the handler is in place.
    """
    if view is None:
        return partial(receives_uploads, pasted=pasted)

    @wraps(view)
    def admitted(request, *args, **kwargs):
        if request.method != "POST" or not request.user.is_authenticated:
            return view(request, *args, **kwargs)  # the view's own decorators answer
        membership = membership_required(request, kwargs["migration_id"], WORK)
        if pasted:
            _pasted_as_file(request, pasted)
        with transaction.atomic():
            Migration.objects.lock(membership.migration_id)
            files = [f for key in request.FILES for f in request.FILES.getlist(key)]
            if files and not getattr(request, "upload_refused", ""):
                request.upload_refused = quota.upload_refusal(
                    migration=membership.migration, actor=request.user, sizes=[f.size for f in files]
                )
            return view(request, *args, **kwargs)

    protected = csrf_protect(admitted)

    @csrf_exempt
    @wraps(view)
    def limited(request, *args, **kwargs):
        request.upload_handlers.insert(0, SizeLimitHandler(request))
        return protected(request, *args, **kwargs)

    limited.receives_uploads = True
    return limited


PASTED_NAME = "pasted-error-details.txt"


def _pasted_as_file(request, field: str) -> None:
    """The text pasted into `field`, kept as the text file it is, among the request's files."""
    if text := request.POST.get(field, "").strip():
        request.FILES.appendlist(field, SimpleUploadedFile(PASTED_NAME, text.encode("utf-8"), "text/plain"))


EXPORT_ADVICE = "Export fewer columns or split the export by company."


def upload_refusal_message(request, advice: str = EXPORT_ADVICE) -> str:
    """Why this request's files may not be stored ('' when they may): too large, too many, or
    past the migration's quota. `advice` follows a file too large."""
    message = getattr(request, "upload_refused", "")
    return f"{message} {advice}" if getattr(request, "upload_file_too_large", False) else message
