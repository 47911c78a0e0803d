from django.db import migrations


def load(apps, schema_editor):
    from privacy.defaults import DEFAULT_RETENTION

    RetentionRule = apps.get_model("privacy", "RetentionRule")
    for kind, days, counted_from, source in DEFAULT_RETENTION:
        RetentionRule.objects.get_or_create(
            kind=kind, defaults={"days": days, "counted_from": counted_from, "source": source}
        )


def unload(apps, schema_editor):
    apps.get_model("privacy", "RetentionRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_lifecycle")]
    operations = [migrations.RunPython(load, unload)]
