"""The default SLA targets of DESIGN.md ("Topics, levels and deadlines"), in working days."""

from django.db import migrations

# kind, level (None: any), channel ("": any), first answer, unit, resolution, unit
DEFAULTS = [
    ("standard", 1, "email", 2, "working_days", 5, "working_days"),
    ("standard", 1, "web", 2, "working_days", 5, "working_days"),
    ("standard", 1, "letter", 5, "working_days", 10, "working_days"),
    # Phone calls are answered live; a call that leaves work behind follows the email targets.
    ("standard", 1, "", 2, "working_days", 5, "working_days"),
    ("standard", 2, "", 2, "working_days", 20, "working_days"),
    ("standard", 3, "", 5, "working_days", 35, "working_days"),
    # GDPR requests (access, erasure, objection): the legal deadline is one month.
    ("gdpr", None, "", 2, "working_days", 1, "calendar_months"),
]


def load(apps, schema_editor):
    SlaPolicy = apps.get_model("routing", "SlaPolicy")
    for kind, level, channel, first, first_unit, resolution, resolution_unit in DEFAULTS:
        SlaPolicy.objects.get_or_create(
            kind=kind,
            level=level,
            channel=channel,
            defaults={
                "first_response_amount": first,
                "first_response_unit": first_unit,
                "resolution_amount": resolution,
                "resolution_unit": resolution_unit,
            },
        )


def unload(apps, schema_editor):
    SlaPolicy = apps.get_model("routing", "SlaPolicy")
    for kind, level, channel, *_ in DEFAULTS:
        SlaPolicy.objects.filter(kind=kind, level=level, channel=channel).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0002_default_policy")]
    operations = [migrations.RunPython(load, unload)]
