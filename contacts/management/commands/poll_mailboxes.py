"""`manage.py poll_mailboxes [--mailbox ID]`: poll the brands' IMAP mailboxes once, now.

What Celery beat does every minute (contacts.tasks.poll_mailboxes), run by hand: to check a
new mailbox's settings, or to drain a backlog without a worker.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from contacts.services.mailboxes import mailbox_poll, mailboxes_due


class Command(BaseCommand):
    help = "Poll the active IMAP mailboxes once and ingest their new mail."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", type=int, action="append", help="only this mailbox id")

    def handle(self, *args, **options):
        failed = False
        for mailbox_id in options["mailbox"] or mailboxes_due():
            report = mailbox_poll(mailbox_id=mailbox_id)
            if report.skipped:
                self.stdout.write(f"mailbox {mailbox_id}: being polled by another worker")
            elif report.error:
                failed = True
                self.stdout.write(f"mailbox {mailbox_id}: error: {report.error}")
            else:
                self.stdout.write(
                    f"mailbox {mailbox_id}: {report.fetched} fetched {report.statuses}"
                )
        if failed:
            raise SystemExit(1)
