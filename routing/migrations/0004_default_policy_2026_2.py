"""Ship the default triage policy 2026.2 (routing.default_policy).

A fresh database already has it (0002 loads the current default as the first live version).
A database whose live policy is older gets it as a *draft*: managers run its dry run on their
own last 1,000 tickets and publish it in the admin, as for any change of the policy.
"""

from importlib import import_module

from django.db import migrations

first_load = import_module("routing.migrations.0002_default_policy")


def load(apps, schema_editor):
    # Same loader as 0002: does nothing if this version exists; live only if none is.
    first_load.load(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("routing", "0003_default_sla_policies")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
