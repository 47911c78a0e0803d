from django.db import migrations
from django.utils.text import slugify


def load(apps, schema_editor):
    from contacts.reference import (
        FRANCE3_REGIONS,
        LEGAL_MENTIONS,
        LETTERHEAD,
        NATIONAL_BRANDS,
        PROGRAMMES,
    )

    Brand = apps.get_model("contacts", "Brand")
    Programme = apps.get_model("contacts", "Programme")
    order = 0
    by_code = {}
    for code, name, email, colour in NATIONAL_BRANDS:
        order += 10
        by_code[code], _ = Brand.objects.get_or_create(
            code=code,
            defaults=dict(
                name=name,
                email_address=email,
                colour=colour,
                order=order,
                letterhead=LETTERHEAD.format(name=name),
                legal_mentions=LEGAL_MENTIONS,
            ),
        )
    france3 = by_code["france3"]
    for slug, region in FRANCE3_REGIONS:
        order += 1
        name = f"France 3 {region}"
        Brand.objects.get_or_create(
            code=f"france3-{slug}",
            defaults=dict(
                name=name,
                parent=france3,
                email_address=france3.email_address,
                colour=france3.colour,
                order=order,
                letterhead=LETTERHEAD.format(name=name),
                legal_mentions=LEGAL_MENTIONS,
            ),
        )
    for code, programmes in PROGRAMMES.items():
        for name, genre in programmes:
            Programme.objects.get_or_create(
                brand=by_code[code], slug=slugify(name), defaults=dict(name=name, genre=genre)
            )


def unload(apps, schema_editor):
    apps.get_model("contacts", "Programme").objects.all().delete()
    Brand = apps.get_model("contacts", "Brand")
    Brand.objects.filter(parent__isnull=False).delete()
    Brand.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
