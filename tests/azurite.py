"""Azurite, Microsoft's Azure Storage emulator (tests/azurite, from the npm registry, installed by
`make test` with `npm ci`), run on 127.0.0.1 for the Blob storage suite: a real Blob service that
the same django-storages backend production uses talks to over HTTP. No Django here: bench/storage.py
starts it too."""

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from azure.storage.blob import BlobServiceClient

AZURITE = Path(__file__).resolve().parent / "azurite" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (published in Microsoft's documentation; not a secret).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class Azurite:
    """One Azurite Blob service: a free port, its data in a folder of its own; stop() and start()
    again keep the data (an outage, not a wipe)."""

    def __init__(self) -> None:
        assert AZURITE.exists(), f"{AZURITE} is missing: run `make azurite` (npm ci --prefix tests/azurite)"
        self.folder = Path(tempfile.mkdtemp(prefix="p2c-azurite-"))
        with socket.socket() as s:  # a free port (the same race every test server here accepts)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.process: subprocess.Popen | None = None
        self.connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT};"
        )

    def start(self) -> None:
        # --disableTelemetry: Azurite 3.35 otherwise reports to Microsoft (Application Insights).
        command = [str(AZURITE), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                   "--location", str(self.folder), "--skipApiVersionCheck", "--loose",
                   "--disableTelemetry"]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Azurite did not start (exit code {self.process.poll()})")
            time.sleep(0.2)

    def answers(self) -> bool:
        try:
            self.service().get_service_properties(timeout=2)
            return True
        except Exception:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def service(self) -> BlobServiceClient:
        # No retries: a probe answers at once whether the emulator is up.
        return BlobServiceClient.from_connection_string(self.connection_string, retry_total=0)

    def new_container(self) -> str:
        """A container per test, so no test sees another's files."""
        name = f"t{uuid.uuid4().hex[:20]}"
        self.service().create_container(name)
        return name

    def names(self, container: str) -> list[str]:
        return sorted(b.name for b in self.service().get_container_client(container).list_blobs())

    def storage_settings(self, container: str) -> dict:
        return {
            "BACKEND": "migration.blob.AzureBlobStorage",
            "OPTIONS": {"azure_container": container, "connection_string": self.connection_string},
        }

    def environment(self, container: str) -> dict:
        """The environment a process of the app needs to use this container (P2C_STORAGE=azure)."""
        return {
            "P2C_STORAGE": "azure",
            "P2C_AZURE_CONTAINER": container,
            "AZURE_STORAGE_CONNECTION_STRING": self.connection_string,
        }
