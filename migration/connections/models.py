"""A migration's connections to its environments and the tables read through them (issue 23).

Part of the `migration` app's models (imported by `migration/models.py`); references to the app's
other models are by name, so this module imports none of them."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..versioning import Versioned


class ConnectionKind(models.TextChoices):
    SALES = "sales", "Sales (Dataverse)"
    FNO = "fno", "Finance and Operations"


class CredentialKind(models.TextChoices):
    SECRET = "secret", "Client secret"
    CERTIFICATE = "certificate", "Certificate"


class Connection(Versioned):
    """How the wizard reaches one of the migration's environments (migration/connections): an app
    registration whose secret (or certificate's private key) is kept encrypted (P2C_SECRETS_KEY)
    and never shown again."""

    migration = models.ForeignKey("migration.Migration", on_delete=models.CASCADE, related_name="connections")
    kind = models.CharField(max_length=10, choices=ConnectionKind.choices)
    url = models.URLField("Environment URL")
    tenant_id = models.CharField("Tenant id", max_length=36)
    client_id = models.CharField("Client id", max_length=36)
    # The client secret, or the certificate's private key (PEM): a Fernet token, never the secret itself.
    secret_encrypted = models.TextField(editable=False)
    credential = models.CharField(
        max_length=12, choices=CredentialKind.choices, default=CredentialKind.SECRET
    )
    certificate_pem = models.TextField(blank=True)  # the public certificate: not a secret
    certificate_thumbprint = models.CharField(max_length=40, blank=True)  # SHA-1, as Entra shows it
    certificate_expires = models.DateTimeField(null=True, blank=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["migration", "kind"], name="one_connection_per_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.url}"


class PullState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Reading"
    DONE = "done", "Stored as an upload"
    FAILED = "failed", "Failed"


class Pull(Versioned):
    """A table read from Sales into a file stored like an upload (migration/connections/pulls.py).
    Page by page: where the next page is and how much of the file holds whole pages, so a worker
    that restarts goes on from the last page, reading nothing twice."""

    migration = models.ForeignKey("migration.Migration", on_delete=models.CASCADE, related_name="pulls")
    connection = models.ForeignKey(Connection, null=True, on_delete=models.SET_NULL, related_name="pulls")
    table = models.CharField(max_length=30)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=PullState.choices, default=PullState.QUEUED)
    message = models.CharField(max_length=1000, blank=True)
    next_link = models.TextField(blank=True)  # the server's @odata.nextLink after the last page kept
    pages = models.PositiveIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)
    # Dataverse's count of the table (RetrieveTotalRecordCount, a snapshot of the last 24 hours):
    # what the time left is estimated from; None when the environment did not say.
    rows_expected = models.PositiveBigIntegerField(null=True, blank=True)
    bytes_written = models.PositiveBigIntegerField(default=0)  # of whole pages, header included
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    upload = models.ForeignKey(
        "migration.ExportUpload", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.table} pull #{self.pk} ({self.get_state_display()})"


class CheckState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Checking"
    DONE = "done", "Checked"
    FAILED = "failed", "Could not check"


class EnvironmentCheck(Versioned):
    """One reading of the Sales environment for steps 3 to 8 (migration/connections/checks.py), run
    by a worker: its result is on the checklist rows it speaks for, and its step-8 readiness here."""

    migration = models.ForeignKey(
        "migration.Migration", on_delete=models.CASCADE, related_name="environment_checks"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=CheckState.choices, default=CheckState.QUEUED)
    message = models.CharField(max_length=1000, blank=True)
    checked_as = models.CharField(max_length=200, blank=True)
    # Step 8's readiness: [{"item": row key or "", "message": what was found and what to do}]
    readiness = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"environment check #{self.pk} ({self.get_state_display()})"


class WriteState(models.TextChoices):
    PLANNING = "planning", "Planning"
    PLANNED = "planned", "Planned: waiting for a project manager's approval"
    APPLYING = "applying", "Applying"
    DONE = "done", "Applied and read back"
    FAILED = "failed", "Failed"


class WriteKind(models.TextChoices):
    JOB = "job", "New values from a job"
    UNDO = "undo", "Undo: the values before an apply"
    REPLAN = "replan", "Conflicts planned again"


class WritePlan(Versioned):
    """New column values written back to Sales (migration/connections/writeback.py): planned from
    the records as they are, approved by a project manager, applied in $batch chunks, read back.
    Its files (plan.csv, applied.csv, failed.csv, conflicts.csv, readback.csv) are in the shared
    storage, under the names `files` holds: any web or worker machine reads them."""

    migration = models.ForeignKey("migration.Migration", on_delete=models.CASCADE, related_name="write_plans")
    connection = models.ForeignKey(Connection, null=True, on_delete=models.SET_NULL, related_name="+")
    job = models.ForeignKey(
        "migration.TransformJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=WriteKind.choices, default=WriteKind.JOB)
    table = models.CharField(max_length=30)
    state = models.CharField(max_length=10, choices=WriteState.choices, default=WriteState.PLANNING)
    message = models.CharField(max_length=1000, blank=True)
    read_since = models.DateTimeField()  # records modified after it are conflicts
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    counts = models.JSONField(default=dict)  # {"outcomes": {...}, "columns": {...}}
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    maps_stopped = models.BooleanField(default=False)  # confirmed by the approver
    batch_size = models.PositiveIntegerField(default=100)
    bypass_logic = models.BooleanField(default=False)
    bypass_flows = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=dict)  # applied, failed, conflict; read back: matched, differ
    files = models.JSONField(default=dict)  # "plan", "applied", ...: the stored file's name

    def __str__(self) -> str:
        return f"{self.table} write-back #{self.pk} ({self.get_state_display()})"


class WriteChunk(models.Model):
    """One Celery task's share of an apply: its progress, reset when a redelivered task starts it
    again (records already written come back as planned and are not written twice)."""

    plan = models.ForeignKey(WritePlan, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    first = models.PositiveIntegerField(default=0)  # its first change's position in plan.csv's changes
    records = models.PositiveIntegerField()
    done = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    throttled = models.PositiveIntegerField(default=0)  # 429s answered to this chunk's requests
    paused_seconds = models.FloatField(default=0)  # waited for service protection
    finished = models.BooleanField(default=False)
    file = models.CharField(max_length=300, blank=True)  # its outcomes' stored name, once finished

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="one_chunk_per_number")]

    def __str__(self) -> str:
        return f"chunk {self.number} of write-back #{self.plan_id}"
