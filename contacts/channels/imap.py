"""A small IMAP client for the mailbox poller (standard library imaplib, UIDs throughout).

Messages are fetched without marking them read (BODY.PEEK[]) and moved to the processed folder
only when the caller says so, i.e. after the contact is committed: a crash in between leaves
the message in the inbox, and the next poll re-ingests it harmlessly (same Message-ID).
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

TIMEOUT = 60


class ImapError(Exception):
    pass


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    username: str
    password: str
    use_tls: bool = True
    folder: str = "INBOX"
    processed_folder: str = "Traites"


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(typ: str, data, what: str):
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
        raise ImapError(f"{what}: {detail[:300]}")
    return data


class ImapSession:
    def __init__(self, conn: imaplib.IMAP4, config: ImapSettings) -> None:
        self.conn = conn
        self.config = config
        # Capabilities grow after login (MOVE, UIDPLUS): ask again rather than trust the
        # greeting's list.
        typ, data = conn.capability()
        words = data[0].upper().split() if typ == "OK" and data and data[0] else []
        self._can_move = b"MOVE" in words

    def ensure_folder(self, folder: str) -> None:
        typ, _ = self.conn.create(_quote(folder))
        # NO means it exists already (or cannot be made: the MOVE will then say why).

    def uids(self, limit: int) -> list[bytes]:
        _check(*self.conn.select(_quote(self.config.folder)), what="cannot open the folder")
        data = _check(*self.conn.uid("SEARCH", None, "ALL"), what="cannot list messages")
        uids = data[0].split() if data and data[0] else []
        return uids[:limit]

    def size(self, uid: bytes) -> int:
        data = _check(*self.conn.uid("FETCH", uid, "(RFC822.SIZE)"), what="cannot size")
        match = re.search(rb"RFC822\.SIZE (\d+)", data[0] if data and data[0] else b"")
        return int(match.group(1)) if match else 0

    def fetch(self, uid: bytes) -> bytes | None:
        data = _check(*self.conn.uid("FETCH", uid, "(BODY.PEEK[])"), what="cannot fetch")
        for part in data:
            if isinstance(part, tuple) and len(part) == 2:
                return part[1]
        return None  # expunged meanwhile by another client

    def move(self, uid: bytes, folder: str) -> None:
        if self._can_move:
            _check(*self.conn.uid("MOVE", uid, _quote(folder)), what="cannot move")
            return
        _check(*self.conn.uid("COPY", uid, _quote(folder)), what="cannot copy")
        _check(*self.conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), what="cannot flag")
        self.conn.expunge()


@contextmanager
def imap_session(config: ImapSettings) -> Iterator[ImapSession]:
    try:
        if config.use_tls:
            conn = imaplib.IMAP4_SSL(
                config.host,
                config.port,
                ssl_context=ssl.create_default_context(),
                timeout=TIMEOUT,
            )
        else:
            conn = imaplib.IMAP4(config.host, config.port, timeout=TIMEOUT)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ImapError(f"cannot connect to {config.host}:{config.port}: {exc}") from None
    try:
        try:
            conn.login(config.username, config.password)
        except imaplib.IMAP4.error as exc:
            raise ImapError(f"login refused for {config.username}: {exc}") from None
        yield ImapSession(conn, config)
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
