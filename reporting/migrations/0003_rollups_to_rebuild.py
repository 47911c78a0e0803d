"""Rollup rows written before the week and month columns existed are dropped: they are
derived data, and the next refresh (or `manage.py rebuild_rollups`) recomputes them all."""

from django.db import migrations

ROLLUPS = (
    "TicketDaily",
    "TopicDaily",
    "ProgrammeDaily",
    "RuleDaily",
    "DurationDaily",
    "SurveyDaily",
    "CallHalfHour",
    "ContactHalfHour",
)


def drop_rollups(apps, schema_editor):
    for name in ROLLUPS:
        apps.get_model("reporting", name).objects.all().delete()
    apps.get_model("reporting", "RollupState").objects.update(watermark=None)


class Migration(migrations.Migration):
    dependencies = [("reporting", "0002_rollup_period_columns")]

    operations = [migrations.RunPython(drop_rollups, migrations.RunPython.noop)]
