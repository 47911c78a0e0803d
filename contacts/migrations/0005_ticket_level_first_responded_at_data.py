"""Existing tickets: the first answer so far counts as the first answer at the current level.

One UPDATE statement (no rows loaded into Python), so it stays cheap at millions of tickets.
A ticket escalated after its first answer keeps that answer at its new level too: the history
needed to tell it apart (the events) is not worth a row-by-row pass, and these tickets would
otherwise all start late at once.
"""

from django.db import migrations
from django.db.models import F


def copy_first_answer(apps, schema_editor):
    Ticket = apps.get_model("contacts", "Ticket")
    Ticket.objects.filter(
        first_responded_at__isnull=False, level_first_responded_at__isnull=True
    ).update(level_first_responded_at=F("first_responded_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_ticket_level_first_responded_at"),
    ]

    operations = [
        # Backwards: nothing to undo (reversing 0004 drops the column).
        migrations.RunPython(copy_first_answer, migrations.RunPython.noop, elidable=True),
    ]
