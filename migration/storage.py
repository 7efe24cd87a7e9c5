"""Moving files through Django's storage API.

Web and workers may run on different machines and share only the storage
(a network folder or an S3-compatible bucket), so tasks get ids, never local
paths; a worker copies what it needs to a private temp folder.
"""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models.fields.files import FieldFile


def sha256_of_upload(upload) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@contextmanager
def local_copy(
    field_file: FieldFile, suffix: str = "", under: str | os.PathLike | None = None
) -> Iterator[str]:
    """A local path holding the stored file's bytes, removed afterwards (copied into `under`)."""
    if isinstance(field_file.storage, FileSystemStorage):
        yield field_file.path  # local or network folder: read it where it lies, no copy
        return
    # Any other storage (S3 and the like): copy it down.
    with tempfile.TemporaryDirectory(prefix="p2c-", dir=under) as folder:
        target = Path(folder) / f"input{suffix or Path(field_file.name).suffix}"
        with field_file.open("rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, length=1024 * 1024)
        yield str(target)


def store_result(local_path: str | os.PathLike, name: str, *, move: bool = False) -> str:
    """Save a finished local file under a fixed storage name, replacing an earlier run's.

    A redelivered task writes the same names again, so repeating a job never
    leaves two results; the file only appears once it is complete. `move`: the caller no longer
    needs the local file, which a folder storage then moves in place (a rename on the same disk).
    """
    if default_storage.exists(name):
        default_storage.delete(name)
    with open(local_path, "rb") as handle:
        saved = default_storage.save(name, _Finished(handle) if move else File(handle))
    return saved


class _Finished(File):
    """A local file the caller no longer needs: a folder storage moves it in place (a rename on
    the same disk, a copy otherwise) instead of copying it chunk by chunk; others read it."""

    def temporary_file_path(self) -> str:
        return self.file.name
