from django.db import migrations


def load(apps, schema_editor):
    from contacts.reference import DEFAULT_TEAMS

    Team = apps.get_model("accounts", "Team")
    Brand = apps.get_model("contacts", "Brand")
    for code, name, level, external, brand_codes in DEFAULT_TEAMS:
        team, created = Team.objects.get_or_create(
            code=code, defaults=dict(name=name, level=level, is_external=external)
        )
        if created:
            team.brands.set(Brand.objects.filter(code__in=brand_codes))


def unload(apps, schema_editor):
    from contacts.reference import DEFAULT_TEAMS

    apps.get_model("accounts", "Team").objects.filter(
        code__in=[t[0] for t in DEFAULT_TEAMS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_brand_scope"), ("contacts", "0002_brands_programmes")]
    operations = [migrations.RunPython(load, unload)]
