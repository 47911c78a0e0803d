"""First answers on time or late now count against the current level's deadline
(`Ticket.level_first_responded_at`, contacts 0004/0005). Rollup rows computed before this
change stay right for every ticket whose level did not change since contacts 0004 was applied
(0005 copied the first answer to the level's first answer); the others were all saved since
(an escalation or a send-back saves the ticket). So the nightly reconciliation, which
recomputes the days of the tickets saved since its own watermark, is taken back to the moment
contacts 0004 was applied: its next run recomputes those days, and only those. Rewinding it
only adds work to that run (a recomputation is idempotent). On an empty state (no watermark)
the next refresh rebuilds everything anyway.
"""

from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder


def rewind_reconciliation(apps, schema_editor):
    db = schema_editor.connection.alias
    applied = (
        MigrationRecorder(schema_editor.connection)
        .migration_qs.filter(app="contacts", name="0004_ticket_level_first_responded_at")
        .values_list("applied", flat=True)
        .first()
    )
    if applied is None:
        return
    RollupState = apps.get_model("reporting", "RollupState")
    for state in RollupState.objects.using(db).filter(watermark__isnull=False):
        since = state.reconciled_at or state.watermark
        if since > applied:
            state.reconciled_at = applied
            state.save(update_fields=["reconciled_at"])


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0003_rollups_to_rebuild"),
        ("contacts", "0005_ticket_level_first_responded_at_data"),
    ]

    operations = [migrations.RunPython(rewind_reconciliation, migrations.RunPython.noop)]
