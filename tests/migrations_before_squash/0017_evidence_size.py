from django.db import migrations, models


def sizes_of_evidence_kept(apps, schema_editor):
    """Evidence attached before sizes were kept: its file's size, so the quota counts it."""
    Evidence = apps.get_model("migration", "Evidence")
    for evidence in Evidence.objects.exclude(file="").iterator():
        try:
            size = evidence.file.size
        except OSError:  # the file is gone: nothing to count
            continue
        Evidence.objects.filter(id=evidence.id).update(size=size)


class Migration(migrations.Migration):
    dependencies = [("migration", "0016_jobissue_job_no_own_index")]

    operations = [
        migrations.AddField(
            model_name="evidence",
            name="size",
            field=models.PositiveBigIntegerField(default=0),
        ),
        migrations.RunPython(sizes_of_evidence_kept, migrations.RunPython.noop),
    ]
