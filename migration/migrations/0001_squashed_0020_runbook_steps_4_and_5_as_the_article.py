"""The schema of migrations 0001 to 0020 in one migration (squashed).

`replaces` lets a database made by those migrations upgrade: where all of them are applied, this
one is recorded as applied and nothing runs. A new database gets the schema at once.

Their data migrations are left out but one, each consciously: a new database has no rows for
them to change (0007_import_route's step-8 item kinds, 0008's backup item, 0013's and 0020's
runbook items, 0017's evidence sizes), and a database that had rows ran them already. The
"Project managers" group (0007_project_managers_group) is data every database needs: kept.
"""

from django.contrib.auth.management import create_permissions
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import migration.models
from django.conf import settings
from django.db import migrations, models


GROUP = "Project managers"


def add_group(apps, schema_editor):
    # Permissions are normally made after all migrations; this one needs add_migration now.
    config = apps.get_app_config("migration")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(Permission.objects.get(content_type__app_label="migration", codename="add_migration"))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    replaces = [
        ("migration", "0001_initial"),
        ("migration", "0002_uploads_and_jobs"),
        ("migration", "0003_job_task_id"),
        ("migration", "0004_drop_wizard_state"),
        ("migration", "0005_one_company_code_validator"),
        ("migration", "0006_active_job_constraint_and_sweep_indexes"),
        ("migration", "0007_after_sync_and_copies"),
        ("migration", "0007_export_parts_and_per_entity_settings"),
        ("migration", "0007_import_route"),
        ("migration", "0007_project_managers_group"),
        ("migration", "0008_backup_item_kind"),
        ("migration", "0008_merge_0007_import_route_0007_project_managers_group"),
        ("migration", "0009_job_issue_file"),
        ("migration", "0009_merge_import_route_and_after_sync"),
        ("migration", "0010_upload_kinds_of_steps_8_and_9"),
        ("migration", "0011_merge_parts_with_import_route_and_after_sync"),
        ("migration", "0012_choices_of_all_steps"),
        ("migration", "0013_job_progress_issue_list_and_review_xlsx"),
        ("migration", "0013_runbook_as_the_article_says"),
        ("migration", "0013_verification_parts"),
        ("migration", "0014_merge_runbook_and_verification_parts"),
        ("migration", "0015_merge_job_progress_with_runbook"),
        ("migration", "0016_jobissue_job_no_own_index"),
        ("migration", "0017_evidence_size"),
        ("migration", "0018_step_opening_and_company_rule_columns"),
        ("migration", "0019_microsoft_account"),
        ("migration", "0020_runbook_steps_4_and_5_as_the_article"),
    ]


    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Membership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('manager', 'Project manager'), ('consultant', 'Consultant'), ('viewer', 'Viewer')], max_length=20)),
                ('added_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['user__username'],
            },
        ),
        migrations.CreateModel(
            name='Migration',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=120)),
                ('customer', models.CharField(max_length=120)),
                ('fno_url', models.URLField(blank=True, verbose_name='Finance and Operations URL')),
                ('ce_url', models.URLField(blank=True, verbose_name='Customer engagement URL')),
                ('go_live', models.DateField(blank=True, null=True, verbose_name='Planned go-live')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('purpose', models.CharField(blank=True, choices=[('rehearsal', 'Rehearsal'), ('production', 'Production')], max_length=20)),
                ('copied_from', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='copies', to='migration.migration')),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('members', models.ManyToManyField(related_name='migrations', through='migration.Membership', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.AddField(
            model_name='membership',
            name='migration',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='migration.migration'),
        ),
        migrations.CreateModel(
            name='LegalEntity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=4, validators=[django.core.validators.RegexValidator('^[A-Za-z0-9]{1,4}$', 'Use the 1 to 4 letter or digit code of the legal entity, such as USMF.')], verbose_name='Company code')),
                ('name', models.CharField(max_length=120)),
                ('customer_group', models.CharField(blank=True, max_length=10, verbose_name='Customer group')),
                ('language', models.CharField(blank=True, max_length=10)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='legal_entities', to='migration.migration')),
            ],
            options={
                'verbose_name_plural': 'legal entities',
                'ordering': ['code'],
            },
        ),
        migrations.CreateModel(
            name='InitializationSettings',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('company', models.CharField(max_length=4, validators=[django.core.validators.RegexValidator('^[A-Za-z0-9]{1,4}$', 'Use the 1 to 4 letter or digit code of the legal entity, such as USMF.')])),
                ('company_rule_column', models.CharField(blank=True, help_text='Optional: take the company per row from this column (for example Owning Business Unit).', max_length=120, verbose_name='Company rule: source column')),
                ('company_rule_map', models.JSONField(blank=True, default=dict, verbose_name='Company rule: value → company code')),
                ('company_rule_columns', models.JSONField(blank=True, default=dict, verbose_name='Company rule: column per table')),
                ('customer_group', models.CharField(default='10', max_length=10, verbose_name='Customer group')),
                ('relationship_type', models.CharField(default='Customer', max_length=40, verbose_name='Relationship type')),
                ('relationship_type_rule_column', models.CharField(blank=True, help_text='Optional: take the relationship type per account from this column (for example Category).', max_length=120, verbose_name='Relationship type rule: source column')),
                ('relationship_type_rule_map', models.JSONField(blank=True, default=dict, verbose_name='Relationship type rule: value → relationship type')),
                ('account_numbers_customized', models.BooleanField(default=False, help_text="Tick when Sales has a customization of Account Number (the article's condition): the party number then comes from Finance and Operations' customer list, uploaded at step 8, instead of the account number.", verbose_name='Account numbers customized')),
                ('language', models.CharField(default='en-us', max_length=10)),
                ('order_type', models.CharField(default='Item based', max_length=40, verbose_name='Order type')),
                ('date_order', models.CharField(choices=[('auto', 'Detect from the file'), ('mdy', 'Month/day/year (3/27/2020)'), ('dmy', 'Day/month/year (27/03/2020)'), ('ymd', 'Year-month-day (2020-03-27)')], default='auto', max_length=4, verbose_name='Date order')),
                ('country', models.CharField(choices=[('keep', 'Keep the text as exported'), ('iso2', 'ISO 3166 two-letter code'), ('dualwrite', "Dual-write's country text")], default='keep', max_length=10)),
                ('review_xlsx', models.BooleanField(default=False, help_text='The CSV review copy is always written. A whole-table workbook is large and slow: a 1,000,000-row order export gives a workbook of about 150 MB and adds about two and a half minutes to the job (about 7,000 rows a second); Excel opens it slowly and the Import data wizard does not take it (8 MB per file). Exports uploaded as xlsx always get one.', verbose_name='Also write an xlsx review copy of CSV exports')),
                ('updated_at', models.DateTimeField(blank=True, null=True)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='init_settings', to='migration.migration')),
            ],
            options={
                'verbose_name_plural': 'initialization settings',
            },
        ),
        migrations.CreateModel(
            name='FindingAcknowledgement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.CharField(max_length=40)),
                ('table', models.CharField(max_length=30)),
                ('message', models.CharField(max_length=1000)),
                ('reason', models.CharField(max_length=500)),
                ('acknowledged_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('acknowledged_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='acknowledgements', to='migration.migration')),
            ],
            options={
                'ordering': ['-acknowledged_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ExportUpload',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=30)),
                ('kind', models.CharField(choices=[('export', 'Step 2 export'), ('reexport', 'Re-export after dual-write install'), ('party_numbers', 'Finance and Operations customer list'), ('verification', 'Verification export (after the import)'), ('fno_export', 'Finance and Operations export after initial sync'), ('sync_errors', 'Initial-sync errors')], default='export', max_length=20)),
                ('version', models.PositiveIntegerField()),
                ('file', models.FileField(max_length=300, upload_to=migration.models.upload_path)),
                ('original_name', models.CharField(max_length=255)),
                ('size', models.BigIntegerField()),
                ('sha256', models.CharField(max_length=64)),
                ('uploaded_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('inspecting', 'Inspecting'), ('ready', 'Ready'), ('problems', 'Problems found'), ('failed', 'Failed')], default='queued', max_length=20)),
                ('state_message', models.CharField(blank=True, max_length=1000)),
                ('inspection', models.JSONField(blank=True, default=dict)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('part', models.PositiveIntegerField(default=1)),
                ('removed_at', models.DateTimeField(blank=True, null=True)),
                ('limit_confirmed_reason', models.CharField(blank=True, max_length=300)),
                ('limit_confirmed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('removed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('uploaded_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='uploads', to='migration.migration')),
            ],
            options={
                'ordering': ['table', '-version'],
            },
        ),
        migrations.CreateModel(
            name='Evidence',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step', models.PositiveSmallIntegerField()),
                ('title', models.CharField(max_length=200)),
                ('url', models.URLField(blank=True)),
                ('file', models.FileField(blank=True, upload_to=migration.models.evidence_path)),
                ('sha256', models.CharField(blank=True, max_length=64)),
                ('size', models.PositiveBigIntegerField(default=0)),
                ('added_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('added_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='evidence', to='migration.migration')),
            ],
            options={
                'verbose_name_plural': 'evidence',
                'ordering': ['added_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='CrossCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('inspecting', 'Inspecting'), ('ready', 'Ready'), ('problems', 'Problems found'), ('failed', 'Failed')], default='queued', max_length=20)),
                ('inputs', models.JSONField(default=dict)),
                ('result', models.JSONField(blank=True, default=dict)),
                ('summary', models.TextField(blank=True)),
                ('message', models.CharField(blank=True, max_length=1000)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='cross_checks', to='migration.migration')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='ChecklistItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step', models.PositiveSmallIntegerField()),
                ('key', models.SlugField(max_length=80)),
                ('kind', models.CharField(choices=[('task', 'Task'), ('sync_run', 'Data Integrator run'), ('export', 'Table export'), ('backup', 'Environment backup'), ('uninstall', 'Uninstall confirmation'), ('legal_entity', 'Legal entity link'), ('reference_map', 'Reference data map'), ('duplicate_rule', 'Duplicate detection rule'), ('reenable_rule', 'Re-enable duplicate detection rule'), ('table_map', 'Table map'), ('import_part', 'Import pack file'), ('import_table', 'Table initialized and imported')], default='task', max_length=20)),
                ('title', models.CharField(max_length=200)),
                ('position', models.PositiveIntegerField(default=0)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('done', models.BooleanField(default=False)),
                ('done_at', models.DateTimeField(blank=True, null=True)),
                ('blocker', models.CharField(blank=True, max_length=300, verbose_name='Blocked by')),
                ('due_on', models.DateField(blank=True, null=True, verbose_name='Due')),
                ('updated_at', models.DateTimeField(blank=True, null=True)),
                ('done_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='migration.migration')),
            ],
            options={
                'ordering': ['step', 'position', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Activity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('verb', models.CharField(max_length=40)),
                ('description', models.CharField(max_length=500)),
                ('step', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ('actor', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='activities', to='migration.migration')),
            ],
            options={
                'verbose_name_plural': 'activities',
                'ordering': ['-at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='Note',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step', models.PositiveSmallIntegerField()),
                ('text', models.TextField(max_length=5000)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('author', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notes', to='migration.migration')),
            ],
            options={
                'ordering': ['created_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='Signoff',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step', models.PositiveSmallIntegerField()),
                ('signed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='signoffs', to='migration.migration')),
                ('signed_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='StepOpening',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('step', models.PositiveSmallIntegerField()),
                ('reason', models.CharField(max_length=300)),
                ('opened_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='step_openings', to='migration.migration')),
                ('opened_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
        ),
        migrations.CreateModel(
            name='TransformJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=30)),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=20)),
                ('run_settings', models.JSONField(default=dict)),
                ('input_sha256', models.JSONField(default=dict)),
                ('parts', models.JSONField(blank=True, default=list)),
                ('rows_done', models.BigIntegerField(default=0)),
                ('rows_total', models.BigIntegerField(blank=True, null=True)),
                ('progress', models.FloatField(default=0)),
                ('phase', models.CharField(blank=True, max_length=80)),
                ('message', models.CharField(blank=True, max_length=1000)),
                ('cancel_requested', models.BooleanField(default=False)),
                ('task_id', models.CharField(blank=True, max_length=64)),
                ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('output_csv', models.FileField(blank=True, max_length=300, upload_to=migration.models.job_path)),
                ('output_xlsx', models.FileField(blank=True, max_length=300, upload_to=migration.models.job_path)),
                ('report_json', models.FileField(blank=True, max_length=300, upload_to=migration.models.job_path)),
                ('issues_file', models.FileField(blank=True, max_length=300, upload_to=migration.models.job_path)),
                ('issue_list', models.FileField(blank=True, max_length=300, upload_to=migration.models.job_path)),
                ('import_file', models.FileField(blank=True, max_length=300, upload_to=migration.models.job_path)),
                ('import_parts', models.JSONField(blank=True, default=list)),
                ('summary', models.JSONField(blank=True, default=dict)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to='migration.migration')),
                ('party_numbers', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='migration.exportupload')),
                ('reexport', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='migration.exportupload')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='migration.exportupload')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='SyncCheck',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('reconcile', 'Reconciliation'), ('triage', 'Initial-sync error triage')], max_length=20)),
                ('table', models.CharField(max_length=30)),
                ('entity', models.CharField(blank=True, max_length=80, verbose_name='Finance and Operations entity')),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=20)),
                ('message', models.CharField(blank=True, max_length=1000)),
                ('ok', models.BooleanField(null=True)),
                ('result', models.JSONField(blank=True, default=dict)),
                ('files', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sync_checks', to='migration.migration')),
                ('uploads', models.ManyToManyField(related_name='+', to='migration.exportupload')),
                ('job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='migration.transformjob')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='JobIssue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('file', models.CharField(blank=True, max_length=255)),
                ('row', models.PositiveIntegerField()),
                ('guid', models.CharField(blank=True, max_length=64)),
                ('column', models.CharField(blank=True, max_length=200)),
                ('severity', models.CharField(max_length=10)),
                ('code', models.CharField(max_length=40)),
                ('message', models.CharField(max_length=500)),
                ('job', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='issues', to='migration.transformjob')),
            ],
            options={
                'ordering': ['row', 'id'],
            },
        ),
        migrations.CreateModel(
            name='ImportVerification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=30)),
                ('parts', models.JSONField(blank=True, default=list)),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('inspecting', 'Inspecting'), ('ready', 'Ready'), ('problems', 'Problems found'), ('failed', 'Failed')], default='queued', max_length=20)),
                ('message', models.CharField(blank=True, max_length=1000)),
                ('result', models.JSONField(blank=True, default=dict)),
                ('issues_file', models.FileField(blank=True, max_length=300, upload_to=migration.models.verification_path)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('upload', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='verifications', to='migration.exportupload')),
                ('migration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='verifications', to='migration.migration')),
                ('job', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='verifications', to='migration.transformjob')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.CreateModel(
            name='MicrosoftAccount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('tenant_id', models.CharField(max_length=64)),
                ('object_id', models.CharField(max_length=64)),
                ('sign_in_name', models.CharField(max_length=254)),
                ('first_signed_in_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('last_signed_in_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='microsoft_account', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('tenant_id', 'object_id'), name='one_user_per_microsoft_account')],
            },
        ),
        migrations.AddConstraint(
            model_name='membership',
            constraint=models.UniqueConstraint(fields=('migration', 'user'), name='one_membership_per_user'),
        ),
        migrations.AddConstraint(
            model_name='legalentity',
            constraint=models.UniqueConstraint(fields=('migration', 'code'), name='unique_company_per_migration'),
        ),
        migrations.AddIndex(
            model_name='exportupload',
            index=models.Index(condition=models.Q(('state__in', ['queued', 'inspecting'])), fields=['updated_at'], name='upload_pending_updated'),
        ),
        migrations.AddConstraint(
            model_name='exportupload',
            constraint=models.UniqueConstraint(fields=('migration', 'table', 'kind', 'version'), name='one_upload_per_version'),
        ),
        migrations.AddConstraint(
            model_name='checklistitem',
            constraint=models.UniqueConstraint(fields=('migration', 'key'), name='unique_item_key'),
        ),
        migrations.AddConstraint(
            model_name='signoff',
            constraint=models.UniqueConstraint(fields=('migration', 'step'), name='one_signoff_per_step'),
        ),
        migrations.AddConstraint(
            model_name='stepopening',
            constraint=models.UniqueConstraint(fields=('migration', 'step'), name='one_opening_per_step'),
        ),
        migrations.AddIndex(
            model_name='transformjob',
            index=models.Index(condition=models.Q(('state', 'running')), fields=['heartbeat_at'], name='job_running_heartbeat'),
        ),
        migrations.AddIndex(
            model_name='transformjob',
            index=models.Index(condition=models.Q(('state', 'queued')), fields=['enqueued_at'], name='job_queued_enqueued'),
        ),
        migrations.AddConstraint(
            model_name='transformjob',
            constraint=models.UniqueConstraint(condition=models.Q(('state__in', ['queued', 'running'])), fields=('migration', 'table'), name='one_active_job_per_table'),
        ),
        migrations.AddIndex(
            model_name='synccheck',
            index=models.Index(fields=['migration', 'kind', 'table'], name='migration_s_migrati_31db40_idx'),
        ),
        migrations.AddIndex(
            model_name='jobissue',
            index=models.Index(fields=['job', 'row', 'id'], name='jobissue_order'),
        ),
        migrations.AddIndex(
            model_name='jobissue',
            index=models.Index(fields=['job', 'code', 'row', 'id'], name='jobissue_code_order'),
        ),
        migrations.AddIndex(
            model_name='jobissue',
            index=models.Index(fields=['job', 'severity', 'row', 'id'], name='jobissue_severity_order'),
        ),
        migrations.RunPython(add_group, remove_group),
    ]
