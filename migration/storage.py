"""Moving files through Django's storage API.

Web and workers may run on different machines and share only the storage
(Azure Blob Storage, a network folder, or another object store), so tasks get ids, never
local paths; a worker copies what it needs into its own temporary folder.
"""

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models.fields.files import FieldFile

logger = logging.getLogger(__name__)


def sha256_of_upload(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@contextmanager
def local_copy(field_file: FieldFile, under: str | os.PathLike | None = None) -> Iterator[str]:
    """A local path holding the stored file's bytes, under the file's own name (the engine's
    reports name files by it), removed on every way out.

    A folder storage gives the file where it lies. Any other storage streams it block by block
    into one copy in a folder of its own inside `under` (a job's attempt folder, swept with it)
    or else P2C_TMP_DIR, the machine's own temporary folder.
    """
    if isinstance(field_file.storage, FileSystemStorage):
        yield field_file.path  # local or network folder: read it where it lies, no copy
        return
    parent = Path(under or settings.P2C_TMP_DIR) / COPIES
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix="copy-", dir=parent) as folder:
        target = Path(folder) / Path(field_file.name).name
        with field_file.storage.open(field_file.name, "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, length=BLOCK)
        yield str(target)


# Where local copies of stored files go inside a temporary folder.
COPIES = "copies"
BLOCK = 1024 * 1024
# The machine's own temporary folders of step-9 checks, verifications, import packs and step-8
# write-back files (migration/connections/writeback.py's SCRATCH).
CHECK_FOLDERS = ("sync*", "verify*", "pack-*", "writeback-*")


def local_copies_clean(*, stale_after: timedelta) -> int:
    """Remove what killed processes left in P2C_TMP_DIR: local copies and the folders of checks,
    verifications and packs made more than `stale_after` ago (longer than any task runs). How many."""
    root = Path(settings.P2C_TMP_DIR)
    cutoff = time.time() - stale_after.total_seconds()
    candidates = [*(root / COPIES).glob("copy-*")] + [
        p for pattern in CHECK_FOLDERS for p in root.glob(pattern)
    ]
    removed = 0
    for folder in candidates:
        with contextlib.suppress(FileNotFoundError):
            if folder.is_dir() and folder.stat().st_mtime <= cutoff:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    return removed


def store_result(
    local_path: str | os.PathLike, name: str, *, move: bool = False, replaced: list[str] | None = None
) -> str:
    """Save a finished local file under `name`, or a free name beside it when `name` is taken
    (an earlier attempt's file): the stored name, which the caller writes into its row.

    Nothing is deleted first: a download of the earlier file goes on while the new one is
    written. A taken `name` is added to `replaced`, for the caller to delete once its row
    points at the new file (`stored_delete`). The storage shows a file only once complete
    (a rename on a folder, a committed block list on Blob storage). `move`: the caller no
    longer needs the local file, which a folder storage then moves in place.
    """
    with open(local_path, "rb") as handle:
        saved = default_storage.save(name, _Finished(handle) if move else File(handle))
    if saved != name and replaced is not None:
        replaced.append(name)
    return saved


def stored_delete(names: list[str]) -> None:
    """Delete stored files nothing points at any more; one the storage cannot reach now stays
    behind (logged), never failing the caller whose work is already saved."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            logger.warning("could not delete stored file %s", name, exc_info=True)


def storage_unreachable(error: BaseException) -> bool:
    """Whether `error` says the shared storage did not answer (not that a file is bad)."""
    try:
        from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    except ImportError:  # no Azure SDK: the folder storage, whose outages are OSErrors
        return False
    return isinstance(error, ServiceRequestError | ServiceResponseError)


STORAGE_DOWN = (
    "The file storage did not answer ({error}), so nothing was kept. Try again in a minute; if it "
    "goes on, ask an administrator to check the storage account."
)


@contextmanager
def storage_outage_as(error_class: type[Exception]) -> Iterator[None]:
    """Raise `error_class` with STORAGE_DOWN's message when the storage does not answer: the
    caller's transaction then rolls back, so no row points at a file that was never kept."""
    try:
        yield
    except Exception as error:
        if not storage_unreachable(error):
            raise
        logger.warning("file storage unreachable", exc_info=True)
        raise error_class(STORAGE_DOWN.format(error=type(error).__name__)) from None


class _Finished(File):
    """A local file the caller no longer needs: a folder storage moves it in place (a rename on
    the same disk, a copy otherwise) instead of copying it chunk by chunk; others read it."""

    def temporary_file_path(self) -> str:
        return self.file.name
