"""Stop an upload over the size limit while it arrives, not after it filled the disk."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


def limit_bytes() -> int:
    return settings.P2C_MAX_UPLOAD_MB * 1024 * 1024


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
