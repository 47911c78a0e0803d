"""`manage.py ingest_email [--json] FILE [FILE ...]`: take raw RFC 5322 messages in.

The contract (DESIGN.md): each FILE a raw message, `-` for standard input; with `--json`, one
JSON object per input on its own line with the keys file, status (created, threaded,
duplicate, rejected), ticket, contact, viewer_email, subject, body_chars, attachments, reason.
Exit 0 when every input was handled (a rejected input is handled, with its reason and its
bytes quarantined). Exit 75 (EX_TEMPFAIL, sysexits.h) when an input could not be kept for now
(the database unreachable, the disk full): its line says `deferred`, nothing of it is stored,
and a mail server delivering through this command keeps the message and tries again later
(what is already stored comes back `duplicate`). Never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contacts.models import Brand
from contacts.services.email_intake import EmailOutcome, email_ingest, email_ingest_batch
from contacts.services.intake import REJECTED
from contacts.services.quarantine import quarantine_put
from frt_crm.middleware import is_database_outage

logger = logging.getLogger(__name__)

# sysexits.h: the mail server keeps the message and delivers it again later.
EX_TEMPFAIL = getattr(os, "EX_TEMPFAIL", 75)
DEFERRED = "deferred"

# Raw bytes a batch holds at most (its messages are parsed before being written together).
BATCH_BYTES = 32 * 1024 * 1024


class Command(BaseCommand):
    help = "Ingest raw email messages (files, or - for standard input) into the intake."
    # Run by mail pipelines once per delivery: the project's checks (which import every URL
    # and view) belong to deployment and CI, not to each delivery's start-up.
    requires_system_checks = []

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
        self._stdin: bytes | None = None
        self._unreachable = ""  # set once the database is found unreachable
        try:
            brand = None
            if options["brand"]:
                brand = Brand.objects.filter(code=options["brand"]).first()
                if brand is None:
                    raise CommandError(f"unknown brand {options['brand']!r}")
            deferred = self._ingest(options, brand)
        except Exception as exc:
            if not is_database_outage(exc):
                raise
            # Outside an input's own intake (the brand's look-up, keeping an oversized file):
            # the inputs without a line above were not taken in.
            self.stderr.write(f"database unreachable, inputs without a line not taken in: {exc}")
            sys.exit(EX_TEMPFAIL)
        if deferred:
            self.stderr.write(
                f"{deferred} input(s) not kept for now (temporary failure): "
                f"exit {EX_TEMPFAIL}, the mail server should deliver again later"
            )
            sys.exit(EX_TEMPFAIL)

    def _ingest(self, options, brand) -> int:
        """Take every input in; returns how many were deferred (not kept, to try again)."""
        files = options["files"]
        size = max(1, options["batch_size"])
        deferred = 0
        for chunk in self._chunks(files, size):
            # One commit per batch: the WAL flush of a commit costs more than the rest of a
            # small message's intake, and the batch's plain new messages are written together
            # (email_ingest_many). Lines are printed once their batch is committed.
            readable = [(raw, name) for name, raw, _ in chunk if raw is not None]
            outcomes = iter(
                email_ingest_batch(
                    items=readable,
                    source="email",
                    brand=brand,
                    # A batch that failed: each message again, what fails kept in quarantine.
                    one=lambda raw, name: self._one(name, raw, "", brand),
                )
            )
            results = [
                (name, next(outcomes) if raw is not None else self._one(name, None, problem, brand))
                for name, raw, problem in chunk
            ]
            for name, outcome in results:
                if outcome.status == DEFERRED:
                    deferred += 1
                self._print(name, outcome, as_json=options["json"])
        return deferred

    def _chunks(self, files: list[str], size: int):
        """Batches of (name, raw bytes or None, problem): at most `size` messages, and no more
        than BATCH_BYTES of them, since a batch's messages are held in memory together."""
        chunk, held = [], 0
        for name in files:
            raw, problem = self._read(name)
            chunk.append((name, raw, problem))
            held += len(raw or b"")
            if len(chunk) >= size or held >= BATCH_BYTES:
                yield chunk
                chunk, held = [], 0
        if chunk:
            yield chunk

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

    def _one(self, name: str, raw: bytes | None, problem: str, brand) -> EmailOutcome:
        if raw is None:
            return EmailOutcome(status=REJECTED, reason=problem)
        if self._unreachable:
            # The database was unreachable a moment ago: do not wait for it once per input.
            return self._deferred(self._unreachable)
        try:
            return email_ingest(raw=raw, source="email", source_detail=name, brand=brand)
        except Exception as exc:
            if is_database_outage(exc):
                self._unreachable = f"database unreachable ({type(exc).__name__})"
                return self._deferred(self._unreachable)
            return self._keep(name, raw, exc)

    @staticmethod
    def _deferred(why: str) -> EmailOutcome:
        return EmailOutcome(
            status=DEFERRED, reason=f"temporary failure, not kept: {why}; deliver again later"
        )

    def _keep(self, name: str, raw: bytes, exc: Exception) -> EmailOutcome:
        """A bug, not a bad message: keep the bytes so nothing is lost, and say so. Where even
        that fails, the input is deferred: the mail server keeps it and tries again."""
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
        except Exception as keep_exc:
            logger.warning("ingest_email: %s could not be kept: %s", name, keep_exc)
            return self._deferred(f"{type(exc).__name__}, and the quarantine failed too")
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
