"""Stop an upload over the size limit while it arrives, not after it filled the disk."""

from functools import wraps

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.views.decorators.csrf import csrf_exempt, csrf_protect


def limit_mb() -> int:
    return settings.P2C_MAX_UPLOAD_MB


def limit_bytes() -> int:
    return limit_mb() * 1024 * 1024


def over_limit(size: int) -> bool:
    return size > limit_bytes()


class SizeLimitHandler(FileUploadHandler):
    """First in the chain: counts each file's bytes and stops the request past the limit.

    The view then finds `request.upload_too_large` set and explains.
    """

    too_large_request = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # Form fields add a few hundred bytes: a body far beyond the limit holds a file beyond it.
        self.too_large_request = bool(content_length) and content_length > limit_bytes() + 64 * 1024

    def receive_data_chunk(self, raw_data, start):
        if self.too_large_request or start + len(raw_data) > limit_bytes():
            self._refuse()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handlers build the file

    def _refuse(self):
        self.request.upload_too_large = self.file_name or "The file"
        # Read the rest of the body without keeping it, so the browser gets the answer.
        raise StopUpload(connection_reset=False)


def with_size_limit(view):
    """Put the limit in front of the upload handlers of a view that receives files.

    The handlers must be set before anything reads the body, and the CSRF
    middleware reads it: so the check moves inside, after the handler is in place.
    """
    protected = csrf_protect(view)

    @csrf_exempt
    @wraps(view)
    def limited(request, *args, **kwargs):
        request.upload_handlers.insert(0, SizeLimitHandler(request))
        return protected(request, *args, **kwargs)

    return limited


EXPORT_ADVICE = "Export fewer columns or split the export by company."


def too_large_message(request, advice: str = EXPORT_ADVICE) -> str:
    """The explanation when the limit stopped this request's upload, else ''."""
    name = getattr(request, "upload_too_large", "")
    if not name:
        return ""
    return f"{name} is larger than the {limit_mb()} MB limit. {advice}"
