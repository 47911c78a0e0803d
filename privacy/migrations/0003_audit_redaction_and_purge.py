"""The audit log stays append-only for everyone, with two sanctioned exceptions that a
transaction must ask for explicitly (`set_config(…, true)`, local to that transaction):

- `crm.audit_redaction = 'on'`: an erasure may rewrite a line's `object_repr` and `data` (to
  remove the erased viewer's values), never its time, actor, action, object or address;
- `crm.audit_purge_before = <timestamp>`: the retention run may delete lines older than that
  instant (the audit retention period, 5 years by default).

On SQLite the ORM's refusal is the only guard; `privacy.services` bypass it the same way.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
DECLARE
    purge_before text := current_setting('crm.audit_purge_before', true);
BEGIN
    IF TG_OP = 'UPDATE' AND current_setting('crm.audit_redaction', true) = 'on'
       AND NEW.id = OLD.id AND NEW.at = OLD.at
       AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id
       AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type
       AND NEW.object_id = OLD.object_id
       AND NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND purge_before IS NOT NULL AND purge_before <> ''
       AND OLD.at < purge_before::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
"""
# As accounts 0004 left it.
RESTORE = """
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESTORE)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0002_default_retention"), ("accounts", "0004_audit_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
