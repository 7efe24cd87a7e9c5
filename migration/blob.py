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
from azure.storage.blob import BlobServiceClient, ExponentialRetry
from django.core.files.base import File
from storages.backends.azure_storage import AzureStorage

# One GET per 4 MB, the first included (the SDK's default first GET is 32 MB, held in memory);
# uploads go in 4 MB blocks, committed together: a blob is never seen half-written.
BLOCK = 4 * 1024 * 1024
CLIENT_OPTIONS = {
    # A few quick retries (about 10 s in all) ride out a blip; the SDK's own (15 s, then 18, then
    # 24) would keep a user's upload waiting a minute before saying the storage is down.
    "retry_policy": ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=3),
    "max_single_get_size": BLOCK,
    "max_chunk_get_size": BLOCK,
    "max_single_put_size": BLOCK,
    "max_block_size": BLOCK,
}


class _BlobStream(io.RawIOBase):
    """A blob's bytes as they arrive. Seeking costs nothing until the next read, which then asks
    the service from the new offset: a response can learn the size (seek to the end and back)
    without a byte being fetched twice."""

    def __init__(self, downloader, download_from) -> None:
        self._downloader = downloader
        self._download_from = download_from  # offset -> a new downloader from there
        self.size = downloader.size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence] + offset
        if target != self._position:
            self._position, self._downloader = max(target, 0), None
        return self._position

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self.size:
            return 0
        if self._downloader is None:
            self._downloader = self._download_from(self._position)
        data = self._downloader.read(len(buffer))
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)


class AzureBlobStorage(AzureStorage):
    def get_default_settings(self) -> dict:
        return {**super().get_default_settings(), "client_options": dict(CLIENT_OPTIONS)}

    def _get_service_client(self) -> BlobServiceClient:
        if self.connection_string is not None:  # django-storages leaves the options out here
            return BlobServiceClient.from_connection_string(self.connection_string, **self.client_options)
        return super()._get_service_client()

    def _open(self, name: str, mode: str = "rb") -> File:
        if mode != "rb":
            return super()._open(name, mode)
        path = self._get_valid_path(name)
        downloader = self.client.download_blob(path, timeout=self.timeout)  # a missing blob fails here

        def download_from(offset: int):
            return self.client.download_blob(path, offset=offset, timeout=self.timeout)

        blob = File(io.BufferedReader(_BlobStream(downloader, download_from), buffer_size=BLOCK), name=name)
        blob.size = downloader.size
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
