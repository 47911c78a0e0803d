"""PostgreSQL search indexes of the staff workspace, kept in this app so that the contacts
app needs no migration of its own for them (SQLite needs none: it scans folded text).

- Viewer search (contacts:viewer_search): trigram GIN on the folded `search_text` serves
  LIKE '%word%' and the word-similarity fallback for misspelt names; a French full-text GIN
  serves stemmed words (organisations, cities).
- Letters to print (replies:print_queue) use contacts' own `contact_delivery_idx`.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS workspace_viewer_search_trgm "
    "ON contacts_viewer USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS workspace_viewer_search_fts "
    "ON contacts_viewer USING gin (to_tsvector('french'::regconfig, search_text))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS workspace_viewer_search_fts",
    "DROP INDEX IF EXISTS workspace_viewer_search_trgm",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for sql in FORWARD:
            cursor.execute(sql)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for sql in BACKWARD:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("replies", "0002_default_templates"),
        ("contacts", "0003_intake_quarantine_mailboxes_letters"),
    ]
    operations = [migrations.RunPython(forward, backward, elidable=False)]
