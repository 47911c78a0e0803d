"""`manage.py ingest_email [--json] FILE [FILE ...]`: take raw RFC 5322 messages in.

The contract (DESIGN.md): each FILE a raw message, `-` for standard input; with `--json`, one
JSON object per input on its own line with the keys file, status (created, threaded,
duplicate, rejected), ticket, contact, viewer_email, subject, body_chars, attachments, reason.
Exit 0 when every input was handled (a rejected input is handled, with its reason and its
bytes quarantined); exit 1 only when an input could not even be kept. Never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from contacts.models import Brand
from contacts.services.email_intake import EmailOutcome, email_ingest
from contacts.services.intake import REJECTED
from contacts.services.quarantine import quarantine_put

logger = logging.getLogger(__name__)


class _BatchBroken(Exception):
    """A database error left the batch's transaction unusable: nothing of it was committed."""


class Command(BaseCommand):
    help = "Ingest raw email messages (files, or - for standard input) into the intake."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="raw message file, or -")
        parser.add_argument("--json", action="store_true", help="one JSON object per input")
        parser.add_argument(
            "--brand", default="", help="brand code to use when the recipients name none"
        )
        parser.add_argument(
            "--batch-size", type=int, default=50, help="messages committed together (default 50)"
        )

    def handle(self, *args, **options):
        brand = None
        if options["brand"]:
            brand = Brand.objects.filter(code=options["brand"]).first()
            if brand is None:
                raise CommandError(f"unknown brand {options['brand']!r}")
        self._stdin: bytes | None = None
        files = options["files"]
        size = max(1, options["batch_size"])
        failures = 0
        for start in range(0, len(files), size):
            chunk = files[start : start + size]
            # One commit per batch, a savepoint per message: the WAL flush of a commit costs
            # more than the rest of a small message's intake. A message that fails rolls back
            # its own savepoint only; lines are printed once their batch is committed.
            try:
                with transaction.atomic():
                    results = [(name, self._one(name, brand)) for name in chunk]
                    if transaction.get_rollback():
                        raise _BatchBroken
            except (DatabaseError, _BatchBroken):
                logger.exception("ingest_email: batch failed, taking its messages one by one")
                results = [(name, self._one(name, brand, in_batch=False)) for name in chunk]
            for name, outcome in results:
                if outcome is None:
                    failures += 1
                    continue
                self._print(name, outcome, as_json=options["json"])
        if failures:
            sys.exit(1)

    def _read(self, name: str) -> tuple[bytes | None, str]:
        limit = getattr(settings, "INTAKE_MAX_EMAIL_BYTES", settings.MAX_UPLOAD_BYTES)
        try:
            if name == "-":
                if self._stdin is None:
                    self._stdin = sys.stdin.buffer.read()
                return self._stdin, ""
            size = os.path.getsize(name)
            if size > limit:
                # Kept without loading it whole: streamed into the quarantine.
                with open(name, "rb") as fh:
                    quarantine_put(
                        source="email",
                        reason_code="too_large",
                        reason=f"message too large: {size} bytes (limit {limit} bytes)",
                        stream=fh,
                        extension="eml",
                        content_type="message/rfc822",
                        source_detail=name,
                    )
                return None, f"message too large: {size} bytes (limit {limit} bytes) (quarantined)"
            with open(name, "rb") as fh:
                return fh.read(), ""
        except OSError as exc:
            return None, f"cannot read the file: {exc.strerror or exc}"

    def _one(self, name: str, brand, *, in_batch: bool = True) -> EmailOutcome | None:
        raw, problem = self._read(name)
        if raw is None:
            return EmailOutcome(status=REJECTED, reason=problem)
        try:
            # The intake's own writes run in savepoints: a bad message leaves the batch's
            # transaction usable. A database error may not: the batch is taken again one by one.
            return email_ingest(raw=raw, source="email", source_detail=name, brand=brand)
        except DatabaseError as exc:
            if in_batch:
                raise
            return self._keep(name, raw, exc)
        except Exception as exc:
            return self._keep(name, raw, exc)

    def _keep(self, name: str, raw: bytes, exc: Exception) -> EmailOutcome | None:
        """A bug, not a bad message: keep the bytes so nothing is lost, and say so."""
        logger.exception("ingest_email: internal error on %s", name)
        try:
            quarantine_put(
                source="email",
                reason_code="internal_error",
                reason=f"internal error: {type(exc).__name__}: {exc}",
                data=raw,
                extension="eml",
                content_type="message/rfc822",
                source_detail=name,
            )
        except Exception:
            self.stderr.write(f"{name}: internal error, input NOT kept: {exc}")
            return None
        return EmailOutcome(
            status=REJECTED, reason=f"internal error: {type(exc).__name__} (quarantined)"
        )

    def _print(self, name: str, outcome: EmailOutcome, *, as_json: bool) -> None:
        if as_json:
            line = {"file": name, **outcome.as_dict()}
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            return
        what = outcome.ticket or "-"
        text = f"{name}: {outcome.status} {what}"
        if outcome.reason:
            text += f" ({outcome.reason})"
        self.stdout.write(text)
