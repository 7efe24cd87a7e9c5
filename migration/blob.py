"""Azure Blob Storage for uploads and results (P2C_STORAGE=azure): django-storages' backend, with
reads that stream.

django-storages opens a blob by downloading all of it into a temporary file before the first
byte is read; a 400 MB export would then sit on the web machine's disk (outside any folder a
clean-up sweeps) before its download even starts. Here a blob opened for reading is read from
the service block by block, so memory stays at one block and nothing lands on disk.
"""

import contextlib
import io

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from django.core.files.base import File
from storages.backends.azure_storage import AzureStorage

# One GET per 4 MB, the first included (the SDK's default first GET is 32 MB, held in memory);
# uploads go in 4 MB blocks, committed together: a blob is never seen half-written.
BLOCK = 4 * 1024 * 1024
CLIENT_OPTIONS = {
    "max_single_get_size": BLOCK,
    "max_chunk_get_size": BLOCK,
    "max_single_put_size": BLOCK,
    "max_block_size": BLOCK,
}


class _BlobStream(io.RawIOBase):
    """A blob's bytes as they arrive; forward only, as a download is."""

    def __init__(self, downloader) -> None:
        self._downloader = downloader
        self.size = downloader.size
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._downloader.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position


class AzureBlobStorage(AzureStorage):
    def get_default_settings(self) -> dict:
        return {**super().get_default_settings(), "client_options": dict(CLIENT_OPTIONS)}

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode != "rb":
            return super()._open(name, mode)
        downloader = self.client.download_blob(self._get_valid_path(name), timeout=self.timeout)
        blob = File(io.BufferedReader(_BlobStream(downloader), buffer_size=BLOCK), name=name)
        blob.size = downloader.size  # a response's Content-Length, without seeking
        return blob

    def _save(self, name: str, content) -> str:
        try:
            return super()._save(name, content)
        except ResourceNotFoundError as error:
            # A new account (or Azurite's first start) has no container yet: make it once.
            if error.error_code != "ContainerNotFound":
                raise
        with contextlib.suppress(ResourceExistsError):  # another machine made it meanwhile
            self.client.create_container(timeout=self.timeout)
        return super()._save(name, content)
