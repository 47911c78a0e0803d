"""A local SMTP server that accepts every message and keeps it as an `.eml` file.

The product's outbox really talks SMTP to it, so a message's states (sent, deferred while the
catcher is down) are the real ones. Messages are read back, newest first, by the staff page.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


class StoreHandler:
    """aiosmtpd handler: one `.eml` file per message received, named so that names sort by
    arrival."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(path)  # the page never reads half a message
        return "250 Message accepted for delivery"


def start(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the catcher in a thread; `controller.stop()` stops it."""
    controller = Controller(StoreHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


@dataclass
class CaughtMessage:
    name: str
    sender: str
    recipients: str
    subject: str
    date: datetime | None
    body: str


def _body(message: email.message.EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return part.get_payload(decode=True).decode("utf-8", "replace")


def read_messages(directory: Path, limit: int = 100) -> list[CaughtMessage]:
    """The `limit` newest messages kept in `directory`, newest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("*.eml"), reverse=True)[:limit]
    messages = []
    for path in paths:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        try:
            date = parsedate_to_datetime(message["Date"]) if message["Date"] else None
        except (TypeError, ValueError):
            date = None
        if date is not None and date.tzinfo is None:
            date = date.replace(tzinfo=UTC)  # "-0000": UTC, says RFC 5322 (Django writes it)
        messages.append(
            CaughtMessage(
                name=path.stem,
                sender=str(message["From"] or ""),
                recipients=", ".join(str(v) for v in message.get_all("To", [])),
                subject=str(message["Subject"] or ""),
                date=date,
                body=_body(message),
            )
        )
    return messages
