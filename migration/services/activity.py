from ..models import Activity, Migration


def activity_record(
    *, migration: Migration, actor, verb: str, description: str, step: int | None = None
) -> Activity:
    return Activity.objects.create(
        migration=migration, actor=actor, verb=verb, description=description[:500], step=step
    )
