from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from . import item_kinds, runbook
from .validators import company_code
from .versioning import MigrationVersion, Versioned, VersionedQuerySet, migration_changed


class Role(models.TextChoices):
    MANAGER = "manager", "Project manager"
    CONSULTANT = "consultant", "Consultant"
    VIEWER = "viewer", "Viewer"


class Purpose(models.TextChoices):
    REHEARSAL = "rehearsal", "Rehearsal"
    PRODUCTION = "production", "Production"


class MigrationQuerySet(VersionedQuerySet):
    def lock(self, pk: int) -> "Migration":
        """The migration's row lock, taken after its version's: every write takes the version's lock
        first (versioning.py), so a transaction that locked the migration and then wrote a row
        would deadlock on PostgreSQL against one that wrote a row and then locked the migration
        (an upload against its own inspection). One order, no deadlock."""
        migration_changed(pk)
        return self.select_for_update().get(pk=pk)


class Migration(models.Model):
    name = models.CharField(max_length=120)
    customer = models.CharField(max_length=120)
    fno_url = models.URLField("Finance and Operations URL", blank=True)
    ce_url = models.URLField("Customer engagement URL", blank=True)
    go_live = models.DateField("Planned go-live", null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="migrations"
    )
    # Rehearsal, then production: a copy repeats the rehearsal's decisions (services migration_copy).
    purpose = models.CharField(max_length=20, choices=Purpose.choices, blank=True)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )

    objects = MigrationQuerySet.as_manager()  # its own updates move its version (versioning.py)
    versioned_by = "pk"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            if self._state.adding:
                super().save(*args, **kwargs)
                MigrationVersion.objects.create(migration=self)
            else:
                migration_changed(self.pk)
                super().save(*args, **kwargs)


class LegalEntity(Versioned):
    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="legal_entities")
    code = models.CharField("Company code", max_length=4, validators=[company_code])
    name = models.CharField(max_length=120)
    # Step 8, per legal entity; empty: the migration's setting.
    customer_group = models.CharField("Customer group", max_length=10, blank=True)
    language = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "code"], name="unique_company_per_migration")
        ]
        verbose_name_plural = "legal entities"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        self.code = self.code.upper()
        super().save(*args, **kwargs)


class Membership(Versioned):
    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user__username"]
        constraints = [models.UniqueConstraint(fields=["migration", "user"], name="one_membership_per_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) on {self.migration}"

    @property
    def can_work(self) -> bool:
        return self.role in (Role.MANAGER, Role.CONSULTANT)

    @property
    def can_manage(self) -> bool:
        return self.role == Role.MANAGER


class MicrosoftAccount(models.Model):
    """The Microsoft Entra ID account a user signs in with. Matched on the token's tenant and object
    ids, which never change nor pass to someone else; names and e-mail addresses can do both."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="microsoft_account"
    )
    tenant_id = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    # As at the last sign-in (preferred_username): how project managers find the user to add them.
    sign_in_name = models.CharField(max_length=254)
    first_signed_in_at = models.DateTimeField(default=timezone.now)
    last_signed_in_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant_id", "object_id"], name="one_user_per_microsoft_account")
        ]

    def __str__(self) -> str:
        return f"{self.sign_in_name} ({self.tenant_id})"


class ChecklistItem(Versioned):
    """One line of a step's checklist.

    `details` holds the kind's own fields (a run's date and result, an export's
    row count, a map's error count...). `done` is derived from them for data
    kinds and ticked by hand for plain tasks; see item_kinds.
    """

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="items")
    step = models.PositiveSmallIntegerField()
    key = models.SlugField(max_length=80)
    kind = models.CharField(max_length=20, choices=item_kinds.CHOICES, default=item_kinds.TASK)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)
    done = models.BooleanField(default=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    blocker = models.CharField("Blocked by", max_length=300, blank=True)
    due_on = models.DateField("Due", null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["step", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["migration", "key"], name="unique_item_key")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_blocked(self) -> bool:
        return bool(self.blocker)


class Signoff(Versioned):
    """A project manager's sign-off of a step (step 2's opens step 3)."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="signoffs")
    step = models.PositiveSmallIntegerField()
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["migration", "step"], name="one_signoff_per_step")]

    def __str__(self) -> str:
        return f"Step {self.step} signed off by {self.signed_by}"


class StepOpening(Versioned):
    """A locked step opened before the sign-off that opens it, by a project manager, with why."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="step_openings")
    step = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=300)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["migration", "step"], name="one_opening_per_step")]

    def __str__(self) -> str:
        return f"Step {self.step} opened early by {self.opened_by}"


class Note(Versioned):
    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="notes")
    step = models.PositiveSmallIntegerField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Note on step {self.step} by {self.author}"


def evidence_path(instance: "Evidence", filename: str) -> str:
    return f"migrations/{instance.migration_id}/evidence/step{instance.step}/{filename}"


class Evidence(Versioned):
    """Proof that a step was done: an attachment or a link."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="evidence")
    step = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    url = models.URLField(blank=True)
    file = models.FileField(upload_to=evidence_path, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)  # bytes of the file: it counts against the quota
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name_plural = "evidence"

    def __str__(self) -> str:
        return self.title


class DateOrder(models.TextChoices):
    AUTO = "auto", "Detect from the file"
    MDY = "mdy", "Month/day/year (3/27/2020)"
    DMY = "dmy", "Day/month/year (27/03/2020)"
    YMD = "ymd", "Year-month-day (2020-03-27)"


class CountryMode(models.TextChoices):
    KEEP = "keep", "Keep the text as exported"
    ISO2 = "iso2", "ISO 3166 two-letter code"
    DUALWRITE = "dualwrite", "Dual-write's country text"


class InitializationSettings(Versioned):
    """Step 8's values, per migration (see docs p2c-rules.md, Settings)."""

    migration = models.OneToOneField(Migration, on_delete=models.CASCADE, related_name="init_settings")
    company = models.CharField(max_length=4, validators=[company_code])
    company_rule_column = models.CharField(
        "Company rule: source column",
        max_length=120,
        blank=True,
        help_text="Optional: take the company per row from this column (for example Owning Business Unit).",
    )
    company_rule_map = models.JSONField("Company rule: value → company code", default=dict, blank=True)
    # No column is in every export: a table may name its own ({table: column}; others: the one above).
    company_rule_columns = models.JSONField("Company rule: column per table", default=dict, blank=True)
    customer_group = models.CharField("Customer group", max_length=10, default="10")
    relationship_type = models.CharField("Relationship type", max_length=40, default="Customer")
    relationship_type_rule_column = models.CharField(
        "Relationship type rule: source column",
        max_length=120,
        blank=True,
        help_text="Optional: take the relationship type per account from this column (for example Category).",
    )
    relationship_type_rule_map = models.JSONField(
        "Relationship type rule: value → relationship type", default=dict, blank=True
    )
    account_numbers_customized = models.BooleanField(
        "Account numbers customized",
        default=False,
        help_text="Tick when Sales has a customization of Account Number (the article's condition): the "
        "party number then comes from Finance and Operations' customer list, uploaded at step 8, instead "
        "of the account number.",
    )
    language = models.CharField(max_length=10, default="en-us")
    order_type = models.CharField("Order type", max_length=40, default="Item based")
    date_order = models.CharField(
        "Date order", max_length=4, choices=DateOrder.choices, default=DateOrder.AUTO
    )
    country = models.CharField(max_length=10, choices=CountryMode.choices, default=CountryMode.KEEP)
    review_xlsx = models.BooleanField(
        "Also write an xlsx review copy of CSV exports",
        default=False,
        help_text="The CSV review copy is always written. A whole-table workbook is large and slow: a "
        "1,000,000-row order export gives a workbook of about 150 MB and adds about two and a half "
        "minutes to the job (about 7,000 rows a second); Excel opens it slowly and the Import data "
        "wizard does not take it (8 MB per file). Exports uploaded as xlsx always get one.",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "initialization settings"

    def __str__(self) -> str:
        return f"Initialization settings of {self.migration}"


class AppendOnlyError(Exception):
    pass


class Activity(Versioned):
    """The migration's activity log. Append-only: rows are never changed or deleted."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=40)
    description = models.CharField(max_length=500)
    step = models.PositiveSmallIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.description}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("The activity log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The activity log is append-only.")


# --- Uploads and transformation jobs (step 2 and step 8) ----------------------------


def upload_path(instance: "ExportUpload", filename: str) -> str:
    # Versioned, never overwritten: a second upload to a slot is a new file.
    folder = f"migrations/{instance.migration_id}/uploads/{instance.kind}/{instance.table}"
    return f"{folder}/v{instance.version}/{filename}"


class UploadKind(models.TextChoices):
    EXPORT = "export", "Step 2 export"
    REEXPORT = "reexport", "Re-export after dual-write install"
    PARTY_NUMBERS = "party_numbers", "Finance and Operations customer list"
    VERIFICATION = "verification", "Verification export (after the import)"
    # Step 9, after initial sync: what F&O holds, and the errors of the run.
    FNO_EXPORT = "fno_export", "Finance and Operations export after initial sync"
    SYNC_ERRORS = "sync_errors", "Initial-sync errors"


class UploadState(models.TextChoices):
    QUEUED = "queued", "Queued"
    INSPECTING = "inspecting", "Inspecting"
    READY = "ready", "Ready"
    PROBLEMS = "problems", "Problems found"
    FAILED = "failed", "Failed"


class ExportUpload(Versioned):
    """One version of one upload slot, stored byte for byte as uploaded."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="uploads")
    table = models.CharField(max_length=30)
    kind = models.CharField(max_length=20, choices=UploadKind.choices, default=UploadKind.EXPORT)
    version = models.PositiveIntegerField()
    file = models.FileField(upload_to=upload_path, max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=20, choices=UploadState.choices, default=UploadState.QUEUED)
    state_message = models.CharField(max_length=1000, blank=True)
    inspection = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # A step-2 export may come in parts (Sales stops at 100,000 rows per file). A part's newest
    # version is the one in use; replacing a part adds a version of it, removing one marks it.
    part = models.PositiveIntegerField(default=1)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A part of exactly 100,000 rows whose count a user confirmed as real, and why.
    limit_confirmed_reason = models.CharField(max_length=300, blank=True)
    limit_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["table", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "table", "kind", "version"], name="one_upload_per_version"
            )
        ]
        indexes = [
            # uploads_requeue_stale: inspections still pending, oldest first.
            models.Index(
                fields=["updated_at"],
                condition=models.Q(state__in=[UploadState.QUEUED, UploadState.INSPECTING]),
                name="upload_pending_updated",
            )
        ]

    def __str__(self) -> str:
        return f"{self.table} v{self.version} ({self.original_name})"

    @property
    def limit_reached(self) -> bool:
        return bool((self.inspection.get("issue_counts") or {}).get("export_limit_reached"))

    @property
    def limit_unconfirmed(self) -> bool:
        return self.limit_reached and not self.limit_confirmed_reason


class CrossCheck(Versioned):
    """The engine's check of the step-2 exports together (orphans, duplicates, limits)."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="cross_checks")
    state = models.CharField(max_length=20, choices=UploadState.choices, default=UploadState.QUEUED)
    inputs = models.JSONField(default=dict)  # table -> upload id, to know when it is stale
    result = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    message = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Cross-file check {self.id} of {self.migration}"


class FindingAcknowledgement(Versioned):
    """A project manager's acknowledgement of a cross-file check error, with the reason.

    Keyed by the finding's words: a different count is a different finding, acknowledged anew.
    """

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="acknowledgements")
    code = models.CharField(max_length=40)
    table = models.CharField(max_length=30)
    message = models.CharField(max_length=1000)
    reason = models.CharField(max_length=500)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-acknowledged_at", "-id"]

    def __str__(self) -> str:
        return f"{self.table} {self.code} acknowledged by {self.acknowledged_by}"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


def job_path(instance: "TransformJob", filename: str) -> str:
    return f"migrations/{instance.migration_id}/jobs/{instance.id}/{filename}"


class TransformJob(Versioned):
    """One run of the engine over one table; kept as history with its settings and inputs."""

    ACTIVE = (JobState.QUEUED, JobState.RUNNING)

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="jobs")
    table = models.CharField(max_length=30)
    state = models.CharField(max_length=20, choices=JobState.choices, default=JobState.QUEUED)
    run_settings = models.JSONField(default=dict)
    source = models.ForeignKey(ExportUpload, on_delete=models.PROTECT, related_name="+")
    reexport = models.ForeignKey(
        ExportUpload, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    party_numbers = models.ForeignKey(
        ExportUpload, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    input_sha256 = models.JSONField(default=dict)
    # The step-2 export's parts (upload ids, in order) the job runs over; [] for jobs before parts.
    parts = models.JSONField(default=list, blank=True)
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(null=True, blank=True)
    # The whole job's share done, 0 to 1, only ever forward within an attempt: each pass by the
    # bytes it reads (rows when they are known), then the issues file and the storing.
    progress = models.FloatField(default=0)
    phase = models.CharField(max_length=80, blank=True)
    message = models.CharField(max_length=1000, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # The message that may run this job: a redelivery carries the same id, a
    # message re-sent for a lost one a new id, so no two messages run it at once.
    task_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    output_csv = models.FileField(upload_to=job_path, max_length=300, blank=True)
    output_xlsx = models.FileField(upload_to=job_path, max_length=300, blank=True)
    report_json = models.FileField(upload_to=job_path, max_length=300, blank=True)
    issues_file = models.FileField(upload_to=job_path, max_length=300, blank=True)
    # Every issue, one a line (CSV): the report JSON keeps only the first of each code.
    issue_list = models.FileField(upload_to=job_path, max_length=300, blank=True)
    # The import route: the re-export filled in place, and the files to import (itself, or its
    # parts when larger than P2C_IMPORT_PART_MB): [{name, file, part, rows, first_row, last_row,
    # bytes, sha256}] with `name` the storage name.
    import_file = models.FileField(upload_to=job_path, max_length=300, blank=True)
    import_parts = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "table"],
                condition=models.Q(state__in=[JobState.QUEUED, JobState.RUNNING]),
                name="one_active_job_per_table",
            )
        ]
        indexes = [
            # jobs_sweep_stale: running jobs whose worker stopped reporting.
            models.Index(
                fields=["heartbeat_at"],
                condition=models.Q(state=JobState.RUNNING),
                name="job_running_heartbeat",
            ),
            # _requeue_lost: queued jobs whose message may be lost.
            models.Index(
                fields=["enqueued_at"], condition=models.Q(state=JobState.QUEUED), name="job_queued_enqueued"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.table} job {self.id} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE

    @property
    def table_label(self) -> str:
        return dict(runbook.EXPORT_TABLES).get(self.table, self.table)

    @property
    def percent(self) -> int:
        if self.state == JobState.SUCCEEDED:
            return 100
        return min(99, int(100 * self.progress))


class JobIssue(models.Model):
    """A row issue of a job's report, stored for filtering and paging."""

    # No index of its own: jobissue_order starts with the job and serves every lookup by job;
    # one index less to fill for each of a million issues.
    job = models.ForeignKey(TransformJob, on_delete=models.CASCADE, related_name="issues", db_index=False)
    file = models.CharField(max_length=255, blank=True)  # an export in parts: the part's file
    row = models.PositiveIntegerField()
    guid = models.CharField(max_length=64, blank=True)
    column = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10)
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["row", "id"]
        # The results page's order (row, id), unfiltered, by code and by severity: an index walk
        # from either end, never a sort of a million rows.
        indexes = [
            models.Index(fields=["job", "row", "id"], name="jobissue_order"),
            models.Index(fields=["job", "code", "row", "id"], name="jobissue_code_order"),
            models.Index(fields=["job", "severity", "row", "id"], name="jobissue_severity_order"),
        ]

    def __str__(self) -> str:
        return f"row {self.row}: {self.code}"


def verification_path(instance: "ImportVerification", filename: str) -> str:
    return f"migrations/{instance.migration_id}/verifications/{instance.id}/{filename}"


class ImportVerification(Versioned):
    """An export taken after the import, compared with the import file by record GUID."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="verifications")
    table = models.CharField(max_length=30)
    job = models.ForeignKey(TransformJob, on_delete=models.PROTECT, related_name="verifications")
    upload = models.ForeignKey(ExportUpload, on_delete=models.PROTECT, related_name="verifications")
    # The verification export's parts compared (ExportUpload ids, in order); upload is one of them.
    parts = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=20, choices=UploadState.choices, default=UploadState.QUEUED)
    message = models.CharField(max_length=1000, blank=True)
    # counts, by_company, by_column and the first records that are not a match (engine.verify).
    result = models.JSONField(default=dict, blank=True)
    issues_file = models.FileField(upload_to=verification_path, max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Verification {self.id} of {self.table} ({self.state})"

    @property
    def matches(self) -> bool:
        return self.state == UploadState.READY and bool(self.result.get("ok"))


# --- After initial sync (step 9) -------------------------------------------------------------


class SyncCheckKind(models.TextChoices):
    RECONCILE = "reconcile", "Reconciliation"
    TRIAGE = "triage", "Initial-sync error triage"


class SyncCheck(Versioned):
    """Step 9: F&O's export of a table reconciled with our step-8 output, or an initial sync's
    errors triaged by cause. Its uploads are the files (parts) it read; `files` holds the lists it
    wrote: name -> {"path", "sha256", "rows"}."""

    ACTIVE = (JobState.QUEUED, JobState.RUNNING)

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="sync_checks")
    kind = models.CharField(max_length=20, choices=SyncCheckKind.choices)
    table = models.CharField(max_length=30)
    entity = models.CharField("Finance and Operations entity", max_length=80, blank=True)
    job = models.ForeignKey(TransformJob, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    uploads = models.ManyToManyField(ExportUpload, related_name="+")
    state = models.CharField(max_length=20, choices=JobState.choices, default=JobState.QUEUED)
    message = models.CharField(max_length=1000, blank=True)
    ok = models.BooleanField(null=True)
    result = models.JSONField(default=dict, blank=True)
    files = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["migration", "kind", "table"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.id} of {self.table} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE


# The connections to the environments live in their own room; imported here so that Django and
# every `from migration.models import ...` find them with the app's other models.
from .connections.models import (  # noqa: E402, F401
    CheckState,
    Connection,
    ConnectionKind,
    CredentialKind,
    EnvironmentCheck,
    Pull,
    PullState,
    WriteChunk,
    WriteKind,
    WritePlan,
    WriteState,
)
