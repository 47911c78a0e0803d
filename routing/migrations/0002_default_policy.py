"""Load the shipped French triage policy (routing.default_policy) as the first live version."""

from django.db import migrations
from django.utils import timezone


def load(apps, schema_editor):
    from routing.default_policy import default_policy
    from routing.rules import policy_to_dict

    PolicyVersion = apps.get_model("routing", "PolicyVersion")
    PolicyRule = apps.get_model("routing", "PolicyRule")
    data = policy_to_dict(default_policy())
    if PolicyVersion.objects.filter(version=data["version"]).exists():
        return
    live = not PolicyVersion.objects.filter(state="live").exists()
    version = PolicyVersion.objects.create(
        version=data["version"],
        state="live" if live else "draft",
        note="Politique par défaut livrée avec l'application (routing.default_policy).",
        defaults=data["defaults"],
        lexicons=data["lexicons"],
        sender_lists=data["sender_lists"],
        published_at=timezone.now() if live else None,
    )
    PolicyRule.objects.bulk_create(
        [
            PolicyRule(
                version=version,
                code=r["code"],
                name=r["name"],
                order=r.get("order", 100),
                enabled=r.get("enabled", True),
                stop=r.get("stop", False),
                weight=r.get("weight", 1.0),
                conditions=r.get("conditions") or {},
                actions=r.get("actions") or {},
            )
            for r in data["rules"]
        ]
    )


def unload(apps, schema_editor):
    from routing.default_policy import VERSION

    apps.get_model("routing", "PolicyVersion").objects.filter(version=VERSION).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_policy_classifier_sla")]
    operations = [migrations.RunPython(load, unload)]
