"""Apply the retention policy now, or say what it would do (`--dry-run`)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from privacy.models import RetentionRun
from privacy.services.retention import retention_run


class Command(BaseCommand):
    help = "Anonymise or delete what the retention policy says has expired (or, dry, count it)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count, change nothing")
        parser.add_argument("--batch", type=int, default=None, help="rows per transaction")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, dry_run=False, batch=None, **options):
        run = retention_run(dry_run=dry_run, batch=batch, max_seconds=10**9)
        while run.state == RetentionRun.State.RUNNING:  # pragma: no cover (time budget)
            run = retention_run(run_id=run.pk, batch=batch, max_seconds=10**9)
        if options["json"]:
            self.stdout.write(_dumps({"run": run.pk, "dry_run": run.dry_run, **run.progress}))
            return
        verb = "would change" if dry_run else "changed"
        for step, s in run.progress.items():
            self.stdout.write(
                f"{step:15} kept {s.get('days') or '∞'} days: found {s['found']}, "
                f"{verb} {s['done'] if not dry_run else s['found']}, skipped {s['skipped']}"
            )


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False)
