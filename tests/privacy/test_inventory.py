"""Every text, char, JSON and file field of every model is either in the erasure plan or
named as holding no viewer's data: a new field cannot escape the erasure unnoticed."""

from django.apps import apps

from privacy.inventory import IGNORED_APPS, NOT_PERSONAL
from privacy.services.erasure import ERASURE_PLAN

from .helpers import text_columns


def test_every_text_field_is_erased_or_declared_not_personal():
    covered = set(NOT_PERSONAL)
    for entry in ERASURE_PLAN:
        label = entry.model.lower()
        if entry.delete:
            model = apps.get_model(entry.model)
            covered |= {f"{label}.{f.name}" for f in model._meta.concrete_fields}
        covered |= {f"{label}.{name}" for name in (*entry.replace, *entry.redact, *entry.files)}
    unclassified = [
        f"{model._meta.label_lower}.{name}"
        for model, names in text_columns()
        if model._meta.app_label not in IGNORED_APPS
        for name in names
        if f"{model._meta.label_lower}.{name}" not in covered
    ]
    assert unclassified == [], (
        "add these to privacy.services.erasure.ERASURE_PLAN or privacy.inventory.NOT_PERSONAL"
    )


def test_the_plan_names_only_existing_fields():
    for entry in ERASURE_PLAN:
        model = apps.get_model(entry.model)
        for name in (*entry.replace, *entry.redact, *entry.files):
            model._meta.get_field(name)
