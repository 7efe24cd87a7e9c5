"""Two machines on one host: a web process (the live server, in this test's process) and a Celery
worker process, each with its own P2C_VAR_DIR and temporary folders, sharing only the database,
the broker and Blob storage (Azurite). A whole route from step 2 to step 9 passes.

The worker runs in a mount namespace of its own (unshare, as root: CI's and the developers'
machines) where the web's folders are covered by empty tmpfs mounts, and its own folders are a
tmpfs the web cannot see at all: a path handed from one to the other, or a file left on one's disk
for the other, would be missing on the other side and the route would fail.
"""

import shlex
import shutil
import subprocess
import sys

import pytest
import requests

from migration.models import JobState, SyncCheck, TransformJob, UploadKind, UploadState
from migration.services import jobs, sync

from .engine.helpers import reexport_parts, step2_parts
from .helpers import ROOT, migration_url, step_9_open, upload_sample, wait_for, worker_env
from .helpers_sync import fno_export, meant_rows

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.fixture
def web_folders(settings, tmp_path, media_root, job_tmp_dir):
    """The web machine's own folders: media (unused on Blob storage), temp, received uploads."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "web-uploads")
    uploads_tmp = tmp_path / "web-uploads"
    for folder in (media_root, job_tmp_dir, uploads_tmp):
        folder.mkdir(parents=True, exist_ok=True)
    return [media_root, job_tmp_dir, uploads_tmp]


@pytest.fixture
def blob(azurite, settings):
    if not azurite.answers():
        azurite.start()
    container = azurite.new_container()
    settings.STORAGES = {**settings.STORAGES, "default": azurite.storage_settings(container)}
    return container


@pytest.fixture
def worker_machine(azurite, blob, web_folders, settings, tmp_path):
    """A `celery worker` whose machine shares nothing on disk with the web's (but the embedded
    database file and broker folder, when run without PostgreSQL and Redis)."""
    assert shutil.which("unshare"), "unshare (util-linux) is needed"
    own = tmp_path / "worker-machine"  # a tmpfs inside the worker's namespace: empty from here
    own.mkdir()
    env = {
        **worker_env(),
        **azurite.environment(blob),
        "P2C_VAR_DIR": str(own / "var"),
        "MEDIA_ROOT": str(own / "var" / "media"),
        "P2C_TMP_DIR": str(own / "tmp"),
        "P2C_CELERY_DIR": str(settings.CELERY_DIR),  # the embedded broker, shared like Redis
        "SECRET_KEY": settings.SECRET_KEY,
    }
    celery = [sys.executable, "-m", "celery", "-A", "p2cwizard", "worker", "--pool=solo", "-l", "INFO",
              "--hostname=machine-b@%h", "--without-gossip", "--without-mingle",
              "--without-heartbeat"]  # fmt: skip
    mounts = " && ".join(
        f"mount -t tmpfs -o mode=0700 p2c-apart {shlex.quote(str(f))}" for f in [*web_folders, own]
    )
    command = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        f"{mounts} && exec {shlex.join(celery)}",
    ]
    log = tmp_path / "worker.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    yield own
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    print(log.read_text()[-5000:])  # shown when the test fails


def _ready(upload) -> bool:
    upload.refresh_from_db()
    assert upload.state not in (UploadState.FAILED,), upload.state_message
    return upload.state in (UploadState.READY, UploadState.PROBLEMS)


def _done(model, id_):
    row = model.objects.get(id=id_)
    return row if row.state not in model.ACTIVE else None


def test_it_runs_step_2_to_step_9_on_two_machines_sharing_only_the_services(
    worker_machine, web_folders, live_server, client, migration, consultant, tmp_path
):
    step_9_open(migration)
    sources = tmp_path / "on-the-users-desk"
    sources.mkdir()
    received = [
        upload_sample(migration, consultant, str(p), table="order")
        for p in step2_parts(sources, [range(0, 150), range(150, 300)])
    ]
    received += [
        upload_sample(migration, consultant, str(p), table="order", kind=UploadKind.REEXPORT)
        for p in reexport_parts(sources, [list(range(0, 140)), list(range(140, 300))])
    ]
    for upload in received:  # inspected by the worker
        wait_for(lambda u=upload: _ready(u), timeout=180, what=f"the inspection of {upload.original_name}")
    job = jobs.job_start(migration=migration, table="order", actor=consultant)
    job = wait_for(lambda: _done(TransformJob, job.id), timeout=300, what="the job")
    assert job.state == JobState.SUCCEEDED, job.message
    assert len(job.summary["import_files"]) == 2

    check = sync.sync_check_create(
        migration=migration, kind="reconcile", table="order", files=[fno_export(meant_rows(job), drop=1)],
        actor=consultant,
    )  # fmt: skip
    check = wait_for(lambda: _done(SyncCheck, check.id), timeout=180, what="the reconciliation")
    assert check.state == JobState.SUCCEEDED, check.message
    totals = check.result["totals"]
    assert (totals["expected"], totals["arrived"], totals["missing"]) == (300, 299, 1)
    assert len(set(check.result["ours"]["files"])) == 2

    # The web serves what the worker made, over HTTP, from Blob storage.
    client.force_login(consultant)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    url = live_server.url + migration_url("job_download", migration, job_id=job.id, what="import")
    response = requests.get(url, cookies=cookies, timeout=60)
    assert response.status_code == 200 and response.content.startswith(b"PK")  # the import workbook
    response = requests.get(
        live_server.url + migration_url("results_zip", migration), cookies=cookies, timeout=60
    )
    assert response.status_code == 200 and response.content.startswith(b"PK")

    # Nothing went through either machine's disk: the web's media folder is empty, no job ran in
    # its temp folder, and what the worker wrote on its own disk never appeared here.
    assert _files(web_folders[0]) == []
    assert not (web_folders[1] / "jobs").exists()
    assert _files(worker_machine) == []
