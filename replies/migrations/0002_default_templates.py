import unicodedata

from django.db import migrations


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def load(apps, schema_editor):
    from replies.defaults import DEFAULT_TEMPLATES

    Template = apps.get_model("replies", "ResponseTemplate")
    Version = apps.get_model("replies", "ResponseTemplateVersion")
    for title, topic, channel, subject, body in DEFAULT_TEMPLATES:
        if Template.objects.filter(title=title).exists():
            continue
        template = Template.objects.create(
            title=title,
            topic=topic,
            channel=channel,
            subject=subject,
            body=body,
            version=1,
            search_text=_fold(" ".join([title, topic, subject, body])),
        )
        Version.objects.create(
            template=template,
            version=1,
            title=title,
            topic=topic,
            channel=channel,
            subject=subject,
            body=body,
        )


def unload(apps, schema_editor):
    from replies.defaults import DEFAULT_TEMPLATES

    apps.get_model("replies", "ResponseTemplate").objects.filter(
        title__in=[t[0] for t in DEFAULT_TEMPLATES], version=1
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("replies", "0001_templates_signatures_print_batches")]
    operations = [migrations.RunPython(load, unload)]
