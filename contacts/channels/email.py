"""Parser of raw inbound email (RFC 5322 bytes) for the intake of viewers' mail.

Pure standard library plus nh3, and no Django: the intake, a quarantine replay command and the
tests can all call it without settings, and a message that breaks it can be reproduced from its
bytes alone.

The one entry point is `parse_email`. It either returns a `ParsedEmail` or raises
`EmailParseError` with a reason meant for the quarantine screen; any other exception is a bug and
is wrapped into `EmailParseError` as well, because one odd message must never stop the intake.
"""

import base64
import binascii
import codecs
import email
import email.policy
import email.utils
import functools
import html
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from html.parser import HTMLParser
from typing import TypeVar

import nh3

__all__ = [
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "DEFAULT_MAX_BYTES",
    "LOOP_TOKENS",
    "TICKET_REF_RE",
    "EmailParseError",
    "ParsedAttachment",
    "ParsedEmail",
    "SkippedAttachment",
    "html_to_text",
    "parse_email",
    "quote_strip",
    "sanitize_html",
]

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# The value our own outgoing mail carries in X-Loop; seeing it inbound means we are talking to
# ourselves (an auto-acknowledgement bounced back, a forwarding rule pointing at the intake...).
LOOP_TOKENS = frozenset({"frt-crm"})

# Ticket references as the CRM prints them in the subjects it sends ("[FTV-2026-000123]"). The
# sequence part accepts more than six digits so a busy year does not silently stop threading.
TICKET_REF_RE = re.compile(r"(?<![\w-])FTV-\d{4}-\d{6,9}(?![\w-])", re.IGNORECASE)

T = TypeVar("T")

# Nesting and part-count guards: legitimate mail rarely goes beyond 5 levels or 100 parts, and a
# crafted message with thousands of empty parts must not make the worker spin.
_MAX_DEPTH = 20
_MAX_PARTS = 1000

# At least one of these must be present for the bytes to count as an email at all; random text
# that merely contains a colon on its first line would otherwise "parse".
_CORE_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "sender",
        "reply-to",
        "mime-version",
        "content-type",
        "delivered-to",
        "in-reply-to",
        "references",
    }
)


class EmailParseError(Exception):
    """The message cannot be turned into a ticket; `reason` is shown on the quarantine screen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    payload: bytes = field(repr=False)
    size: int
    is_inline: bool = False
    content_id: str | None = None


@dataclass
class SkippedAttachment:
    """An attachment that was present but not kept, so staff can tell the viewer why."""

    filename: str
    content_type: str
    size: int
    reason: str


@dataclass
class ParsedEmail:
    message_id: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    # '' when the return path is empty (bounces, most auto-replies): nobody should be answered
    # at that address. `header_from_email` keeps what the From header said in every case.
    from_email: str = ""
    from_name: str = ""
    header_from_email: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: str = ""
    subject: str = ""
    date: datetime | None = None
    body_text: str = ""
    # `body_text` without the quoted earlier replies, for display; see `quote_strip`.
    body_text_new: str = ""
    body_html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    skipped_attachments: list[SkippedAttachment] = field(default_factory=list)
    remote_images_blocked: int = 0
    is_auto_reply: bool = False
    auto_reason: str = ""
    is_bounce: bool = False
    bounced_recipients: list[str] = field(default_factory=list)
    bounced_message_id: str | None = None
    bounce_reason: str = ""
    is_loop: bool = False
    loop_reason: str = ""
    ticket_ref: str | None = None
    forwarded: bool = False
    forwarded_from_email: str = ""
    forwarded_from_name: str = ""
    raw_size: int = 0
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def parse_email(
    raw: bytes,
    *,
    own_addresses: frozenset[str] = frozenset(),
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    allowed_attachment_types: frozenset[str] | None = None,
    loop_tokens: frozenset[str] = LOOP_TOKENS,
    refuse_dangerous: bool = True,
) -> ParsedEmail:
    """Parse one raw message.

    `allowed_attachment_types` holds MIME types, possibly with a wildcard subtype ("image/*");
    None accepts every type but, with `refuse_dangerous`, programs and scripts
    (`dangerous_reason`). A refused attachment is listed in `skipped_attachments` with its
    reason. Raises only `EmailParseError`.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise EmailParseError(f"expected the raw bytes of a message, got {type(raw).__name__}")
    raw = bytes(raw)
    if isinstance(own_addresses, str):
        own_addresses = frozenset({own_addresses})  # a lone address, not a set of characters
    if len(raw) > max_bytes:
        raise EmailParseError(f"message too large: {len(raw)} bytes (limit {max_bytes} bytes)")
    try:
        return _parse(
            raw,
            # Empty entries would match every message ("" is in every string).
            own_addresses=frozenset(filter(None, (_clean_address(a) for a in own_addresses))),
            max_attachment_bytes=max_attachment_bytes,
            allowed_attachment_types=allowed_attachment_types,
            loop_tokens=frozenset(t.strip().lower() for t in loop_tokens if t.strip()),
            refuse_dangerous=refuse_dangerous,
        )
    except EmailParseError:
        raise
    except Exception as exc:
        # Whatever slipped through the defensive code below is still a reason to quarantine
        # this one message, not to crash the intake worker.
        raise EmailParseError(
            f"unexpected error while parsing: {type(exc).__name__}: {exc}"
        ) from exc


# --------------------------------------------------------------------------------------------
# Parsing pipeline
# --------------------------------------------------------------------------------------------


@dataclass
class _Segment:
    """One readable piece of the body in document order; an alternative gives both forms."""

    text: str | None = None
    html: str | None = None
    # Written by the parser (the header of an embedded forward), not sent by anyone: on its own
    # it must not make a text-only message grow an HTML body.
    generated: bool = False


@dataclass
class _Context:
    max_attachment_bytes: int
    allowed_attachment_types: frozenset[str] | None
    warnings: list[str]
    refuse_dangerous: bool = True
    segments: list[_Segment] = field(default_factory=list)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    skipped: list[SkippedAttachment] = field(default_factory=list)
    # (enclosing part, embedded message, depth): forwards, or the original of a bounce.
    inner_messages: list[tuple[Message, Message, int]] = field(default_factory=list)
    status_blocks: list[dict[str, str]] = field(default_factory=list)
    feedback_blocks: list[dict[str, str]] = field(default_factory=list)
    returned_headers: list[Message] = field(default_factory=list)
    report_types: set[str] = field(default_factory=set)
    defects: set[str] = field(default_factory=set)
    part_count: int = 0
    truncated: bool = False

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)


def _parse(
    raw: bytes,
    *,
    own_addresses: frozenset[str],
    max_attachment_bytes: int,
    allowed_attachment_types: frozenset[str] | None,
    loop_tokens: frozenset[str],
    refuse_dangerous: bool = True,
) -> ParsedEmail:
    warnings: list[str] = []
    if not raw.strip():
        raise EmailParseError("empty message")
    _reject_binary(raw)
    repaired = _repair_header_block(raw, warnings=warnings)
    msg = _message_from_bytes(repaired, warnings=warnings)
    headers = _Headers(msg, warnings=warnings)
    if not any(headers.has(name) for name in _CORE_HEADERS):
        raise EmailParseError("no email headers found: this does not look like an email")

    result = ParsedEmail(raw_size=len(raw), warnings=warnings)
    _read_envelope(result, headers=headers)

    ctx = _Context(
        max_attachment_bytes=max_attachment_bytes,
        allowed_attachment_types=allowed_attachment_types,
        warnings=warnings,
        refuse_dangerous=refuse_dangerous,
    )
    _walk(msg, ctx=ctx, depth=0)

    is_dsn = bool(ctx.status_blocks) or "delivery-status" in ctx.report_types
    # An abuse report is handled as a bounce: no ticket, our mail it names marked, the
    # complaining address no longer written to.
    is_arf = bool(ctx.feedback_blocks) or "feedback-report" in ctx.report_types
    result.is_bounce = is_dsn or is_arf or _looks_like_plain_bounce(headers, subject=result.subject)
    _handle_inner_messages(ctx, result=result)

    _assemble_body(result, ctx=ctx)
    _detect_auto_reply(result, headers=headers, ctx=ctx)
    if result.is_bounce:
        _read_bounce(result, ctx=ctx, own_addresses=own_addresses)
    else:
        _detect_forward(result, ctx=ctx)
    _detect_loop(result, headers=headers, own_addresses=own_addresses, loop_tokens=loop_tokens)

    match = TICKET_REF_RE.search(result.subject)
    result.ticket_ref = match.group(0).upper() if match else None
    # A forward is read for its original content, which quote_strip would cut as "quoted".
    result.body_text_new = result.body_text if result.forwarded else quote_strip(result.body_text)
    result.attachments = ctx.attachments
    result.skipped_attachments = ctx.skipped
    if ctx.defects:
        ctx.warn("MIME defects: " + ", ".join(sorted(ctx.defects)))
    return result


@functools.lru_cache(maxsize=512)
def _parsed_header(name: str, value: str):
    return email.policy.default.header_fetch_parse(name, value)


class _MemoisingPolicy(email.policy.EmailPolicy):
    """`email.policy.default`, whose parsed header objects are memoised by (name, raw value).

    The modern API parses a header again on every `get()`: one plain-text part asks for its
    Content-Type eight times (type, charset, format, delsp, filename...), which made header
    parsing half the cost of a message. Header objects are immutable, and the same value
    always parses the same, so sharing them changes nothing but the time spent.
    """

    def header_fetch_parse(self, name, value):
        if hasattr(value, "name") or not isinstance(value, str):
            return super().header_fetch_parse(name, value)
        return _parsed_header(name, value)


_POLICY = _MemoisingPolicy()


def _message_from_bytes(data: bytes, *, warnings: list[str]) -> Message:
    try:
        return email.message_from_bytes(data, policy=_POLICY)
    except Exception as exc:
        # The modern policy parses Content-Type while it builds the tree, and some malformed
        # parameters crash it (CPython 3.11: name*="utf-8''" raises IndexError). compat32 keeps
        # headers as plain strings, and everything below only uses the API both share.
        warnings.append(
            f"modern email parser failed ({type(exc).__name__}), read in compatibility mode"
        )
        return email.message_from_bytes(data, policy=email.policy.compat32)


def _reject_binary(raw: bytes) -> None:
    """Refuse data that is clearly not text before the lenient parser makes sense of it."""
    # Only the header section is judged: a body may legitimately hold binary (8bit/binary
    # transfer encodings), headers never do.
    match = re.search(rb"\r?\n\r?\n", raw[:65536])
    head = raw[: match.start()] if match else raw[:65536]
    if b"\x00" in head:
        raise EmailParseError("binary data, not an email (NUL bytes in the header section)")
    sample = head[:4096]
    controls = sum(1 for b in sample if (b < 32 and b not in (9, 10, 12, 13)) or b == 127)
    if controls > len(sample) // 10:
        raise EmailParseError("binary data, not an email (too many control characters)")


_HEADER_LINE_RE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_SPACE_BEFORE_COLON_RE = re.compile(rb"^([!-9;-~]+)[ \t]+:")


def _repair_header_block(raw: bytes, *, warnings: list[str]) -> bytes:
    """Drop stray lines without a colon inside the header block.

    The standard parser ends the headers at the first such line, which would turn the rest of
    the headers (often From or Content-Type) into body text.
    """
    match = re.search(rb"\r?\n\r?\n", raw)
    if match:
        head, rest = raw[: match.start()], raw[match.start() :]
    else:
        head, rest = raw, b""
    lines = head.splitlines(keepends=True)
    last_header = max(
        (i for i, line in enumerate(lines) if _HEADER_LINE_RE.match(line)), default=-1
    )
    out: list[bytes] = []
    dropped = 0
    for index, line in enumerate(lines):
        if index == 0 and line.startswith(b"From "):
            out.append(line)  # mbox separator, understood by the parser
        elif line[:1] in (b" ", b"\t") and index > 0:
            out.append(line)
        elif _HEADER_LINE_RE.match(line):
            out.append(_SPACE_BEFORE_COLON_RE.sub(rb"\1:", line))
        elif index < last_header:
            dropped += 1
        else:
            # No header follows: this is the body, sent without the blank separator line.
            out.append(b"\r\n" if line.endswith(b"\r\n") else b"\n")
            out.extend(lines[index:])
            break
    if dropped:
        warnings.append(f"dropped {dropped} malformed header line(s) without a colon")
    if not dropped and len(out) == len(lines):
        return raw
    return b"".join(out) + rest


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------


class _Headers:
    """Raw header values by lower-cased name.

    Read through `raw_items()` rather than the policy's header objects: those parse eagerly and a
    malformed address or date there can raise or silently lose text, while here every value is
    decoded with the same forgiving rules.
    """

    def __init__(self, msg: Message, *, warnings: list[str]) -> None:
        self._warnings = warnings
        self._values: dict[str, list[str]] = {}
        try:
            items = list(msg.raw_items())
        except Exception:
            items = []
        for name, value in items:
            key = str(name).strip().lower()
            text = _unfold(_recover_8bit(str(value), warnings=warnings))
            self._values.setdefault(key, []).append(text)

    def has(self, name: str) -> bool:
        return name in self._values

    def all(self, name: str) -> list[str]:
        return self._values.get(name, [])

    def first(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def text(self, name: str) -> str:
        value = self.first(name)
        if value is None:
            return ""
        return _normalise_space(decode_header_value(value, warnings=self._warnings))


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", "").replace("\n", "")


def _recover_8bit(value: str, *, warnings: list[str]) -> str:
    """Undo the surrogate escapes the byte parser uses for raw 8-bit header bytes."""
    if value.isascii():
        return value
    data = value.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        warnings.append(
            "raw 8-bit characters in a header without declared charset, read as windows-1252"
        )
        return data.decode("cp1252", errors="replace")


# The Unicode "Cc" (control) characters, but tab and newline: C0, DEL and C1.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _normalise_space(text: str) -> str:
    return " ".join(_CONTROL_RE.sub("", text).split())


_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([QqBb])\?(.*?)(?:\?=|$)")


def decode_header_value(value: str, *, warnings: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded-words, tolerating what real mailers get wrong.

    Handles words glued to text, missing "?=" at the end, bad base64 padding, unknown
    charsets, and multi-byte characters split across two adjacent words (the bytes of words in
    the same charset are joined before decoding).
    """
    notes = warnings if warnings is not None else []
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    position = 0
    previous_was_word = False

    def flush() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(
                _decode_bytes(
                    bytes(pending), charset=pending_charset, where="header", warnings=notes
                )
            )
        pending = bytearray()
        pending_charset = ""

    for match in _ENCODED_WORD_RE.finditer(value):
        gap = value[position : match.start()]
        # RFC 2047 6.2: whitespace between two encoded-words is not part of the text.
        if not (previous_was_word and not gap.strip()):
            flush()
            out.append(gap)
        charset = match.group(1).split("*", 1)[0].strip("\"'").lower()
        encoded = match.group(3)
        data = _decode_q(encoded) if match.group(2) in "Qq" else _decode_b(encoded)
        if pending and charset != pending_charset:
            flush()
        pending += data
        pending_charset = charset
        position = match.end()
        previous_was_word = True
    flush()
    out.append(value[position:])
    return "".join(out)


def _decode_q(text: str) -> bytes:
    data = text.replace("_", " ").encode("utf-8")
    return re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), data)


def _decode_b(text: str) -> bytes:
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]  # a lone trailing character cannot encode anything
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


# --------------------------------------------------------------------------------------------
# Charsets
# --------------------------------------------------------------------------------------------

# Labels are mapped the way browsers do (WHATWG Encoding): ISO-8859-1 and ASCII labels really mean
# windows-1252, because Windows mailers send curly quotes, "œ" and "€" under those labels.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "x-cp1252": "cp1252",
    "iso-8859-8-i": "iso-8859-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-sjis": "shift_jis",
    "tis-620": "cp874",
}
_ASCII_LABELS = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968"})
_NO_CHARSET = frozenset({"", "unknown-8bit", "x-unknown", "unknown", "default", "x-user-defined"})
# Codecs Python accepts as "text" that no mailer means: decoding with them is never right.
_REFUSED_CODECS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode"}
)


def _decode_bytes(data: bytes, *, charset: str | None, where: str, warnings: list[str]) -> str:
    label = (charset or "").strip().strip("\"'").strip().lower()
    if data.isascii() and not label.startswith(("utf-16", "utf-32", "utf-7", "iso-2022", "hz")):
        return data.decode("ascii")

    if label in _NO_CHARSET:
        return _guess_decode(data, where=where, warnings=warnings, label=label)

    codec = _CHARSET_ALIASES.get(label, label)
    if codec == "cp1252":
        if _is_utf8(data):
            _note(warnings, f"{where}: declared {label} but the text is UTF-8, read as UTF-8")
            return data.decode("utf-8")
        if label in _ASCII_LABELS:
            _note(warnings, f"{where}: declared {label} but has 8-bit text, read as windows-1252")
        elif label not in ("windows-1252", "cp1252") and re.search(rb"[\x80-\x9f]", data):
            _note(
                warnings,
                f"{where}: declared {label} but uses windows-1252 characters, read as windows-1252",
            )
        return data.decode("cp1252", errors="replace")

    try:
        info = codecs.lookup(codec)
        if info.name.replace("_", "-") in _REFUSED_CODECS:
            raise LookupError(codec)
    except (LookupError, ValueError, TypeError):
        return _guess_decode(data, where=where, warnings=warnings, label=label, unknown=True)

    try:
        return data.decode(info.name)
    except UnicodeError:
        pass
    except Exception:
        return _guess_decode(data, where=where, warnings=warnings, label=label)
    if info.name != "utf-8" and _is_utf8(data):
        _note(warnings, f"{where}: declared {label} but the text is UTF-8, read as UTF-8")
        return data.decode("utf-8")
    if info.name == "utf-8":
        return _decode_broken_utf8(data, where=where, warnings=warnings)
    _note(warnings, f"{where}: invalid {label} bytes replaced")
    return data.decode(info.name, errors="replace")


def _guess_decode(
    data: bytes, *, where: str, warnings: list[str], label: str, unknown: bool = False
) -> str:
    what = f"unknown charset {label!r}" if unknown else label or "no charset"
    if _is_utf8(data):
        if unknown:
            _note(warnings, f"{where}: {what}, read as UTF-8")
        return data.decode("utf-8")
    _note(warnings, f"{where}: 8-bit text with {what}, read as windows-1252")
    return data.decode("cp1252", errors="replace")


def _decode_broken_utf8(data: bytes, *, where: str, warnings: list[str]) -> str:
    # Mostly-valid UTF-8 with a few damaged bytes (a truncated line, one pasted latin-1 word)
    # reads best as UTF-8 with replacements; text without valid sequences was never UTF-8.
    replaced = data.decode("utf-8", errors="replace")
    bad = replaced.count("\ufffd")
    good = sum(1 for ch in replaced if ord(ch) > 127 and ch != "\ufffd")
    if good >= bad:
        _note(warnings, f"{where}: invalid UTF-8 bytes replaced")
        return replaced
    _note(warnings, f"{where}: declared utf-8 but the text is not UTF-8, read as windows-1252")
    return data.decode("cp1252", errors="replace")


def _is_utf8(data: bytes) -> bool:
    # Valid multi-byte UTF-8 almost never happens by chance in latin-1 French text, so a
    # successful strict decode of non-ASCII bytes is strong evidence.
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _note(warnings: list[str], text: str) -> None:
    if text not in warnings:
        warnings.append(text)


# --------------------------------------------------------------------------------------------
# Envelope: addresses, ids, date, subject
# --------------------------------------------------------------------------------------------

_ADDRESS_RE = re.compile(
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[\w-]{1,59})$"
)
_LOOSE_ADDRESS_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def _clean_address(address: str) -> str:
    address = address.strip().strip("<>").strip()
    if address.lower().startswith("mailto:"):
        address = address[7:]
    return address.lower()


def is_valid_address(address: str) -> bool:
    return len(address) <= 254 and bool(_ADDRESS_RE.match(address))


def _addresses(values: Iterable[str], *, warnings: list[str], label: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of the valid addresses in header values."""
    values = list(values)
    if not values:
        return []
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:
        pairs = []
    found: list[tuple[str, str]] = []
    for name, address in pairs:
        cleaned = _clean_address(address)
        if is_valid_address(cleaned):
            found.append((_display_name(name, warnings=warnings), cleaned))
    if not found:
        # A broken header ('"Dupont <jean@free.fr', a missing '>') still names the address.
        for value in values:
            for loose in _LOOSE_ADDRESS_RE.finditer(value):
                cleaned = _clean_address(loose.group(0).strip("."))
                if is_valid_address(cleaned):
                    before = value[: loose.start()] if not found else ""
                    name = _display_name(before.strip(' "<'), warnings=warnings)
                    found.append((name, cleaned))
        if found:
            warnings.append(f"malformed {label} header, address recovered: {found[0][1]}")
        elif any(v.strip() for v in values):
            warnings.append(f"no valid address in {label} header: {values[0][:80]!r}")
    seen: set[str] = set()
    unique = []
    for name, address in found:
        if address not in seen:
            seen.add(address)
            unique.append((name, address))
    return unique


def _display_name(name: str, *, warnings: list[str]) -> str:
    decoded = _normalise_space(decode_header_value(name, warnings=warnings))
    return decoded.strip("\"' ")


def _normalise_message_id(value: str | None) -> str | None:
    if not value:
        return None
    match = re.search(r"<([^<>]+)>", value)
    ident = match.group(1) if match else value.strip().strip("<>")
    ident = re.sub(r"\s+", "", ident)
    return ident[:998] or None


def _message_id_list(values: Iterable[str]) -> list[str]:
    found: list[str] = []
    for value in values:
        ids = re.findall(r"<([^<>]+)>", value) or re.split(r"[\s,]+", value)
        for ident in ids:
            cleaned = re.sub(r"\s+", "", ident)
            if cleaned and cleaned not in found:
                found.append(cleaned[:998])
    return found


def _parse_date(value: str | None, *, warnings: list[str]) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        parsed = None
    if parsed is None:
        warnings.append(f"unreadable Date header: {value[:80]!r}")
        return None
    if parsed.tzinfo is None:
        # "-0000" (RFC 5322: UTC, local zone unknown) parses as naive; callers need aware.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _read_envelope(result: ParsedEmail, *, headers: _Headers) -> None:
    warnings = result.warnings
    for name in ("from", "subject", "date", "message-id", "to"):
        if len(headers.all(name)) > 1:
            warnings.append(f"duplicate {name} header, the first one is used")

    result.message_id = _normalise_message_id(headers.first("message-id"))
    result.in_reply_to = _normalise_message_id(headers.first("in-reply-to"))
    result.references = _message_id_list(headers.all("references"))
    result.subject = headers.text("subject")
    result.date = _parse_date(headers.first("date"), warnings=warnings)

    from_values = headers.all("from")[:1] or headers.all("sender")[:1]
    senders = _addresses(from_values, warnings=warnings, label="From")
    if senders:
        result.from_name, result.header_from_email = senders[0]
    elif from_values:
        result.from_name = _display_name(from_values[0], warnings=warnings)
    result.from_email = "" if _return_path_is_empty(headers) else result.header_from_email

    result.to = [a for _, a in _addresses(headers.all("to"), warnings=warnings, label="To")]
    result.cc = [a for _, a in _addresses(headers.all("cc"), warnings=warnings, label="Cc")]
    reply_to = _addresses(headers.all("reply-to")[:1], warnings=warnings, label="Reply-To")
    result.reply_to = reply_to[0][1] if reply_to else ""


def _return_path_is_empty(headers: _Headers) -> bool:
    value = headers.first("return-path")
    return value is not None and value.strip().strip("<>").strip() == ""


# --------------------------------------------------------------------------------------------
# MIME walk
# --------------------------------------------------------------------------------------------


def _safe(func: Callable[[], T], *, default: T) -> T:
    try:
        return func()
    except Exception:
        return default


_EMBEDDED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global", "message/news"})


def _walk(part: Message, *, ctx: _Context, depth: int) -> None:
    ctx.part_count += 1
    if depth > _MAX_DEPTH or ctx.part_count > _MAX_PARTS:
        if not ctx.truncated:
            ctx.truncated = True
            ctx.warn("message structure too deep or too many parts, the rest was ignored")
        return
    for defect in getattr(part, "defects", []) or []:
        ctx.defects.add(type(defect).__name__)

    ctype = _safe(part.get_content_type, default="application/octet-stream").lower()
    maintype = ctype.split("/", 1)[0]

    if ctype in ("message/delivery-status", "message/global-delivery-status"):
        ctx.status_blocks.extend(_delivery_status_blocks(part, ctx=ctx))
        return
    if ctype == "message/feedback-report":
        # An abuse report (ARF, RFC 5965): a mailbox provider telling that its user marked
        # our mail as spam.
        ctx.feedback_blocks.extend(_delivery_status_blocks(part, ctx=ctx))
        return
    if maintype == "message" and ctype not in _EMBEDDED_MESSAGE_TYPES:
        # Report metadata (read receipts, abuse reports) or fragments: nothing to read, and
        # certainly not a forwarded message.
        return
    if part.is_multipart():
        children = [p for p in _safe(part.get_payload, default=[]) if isinstance(p, Message)]
        if maintype == "message":
            for inner in children[:1]:
                ctx.inner_messages.append((part, inner, depth + 1))
            return
        if ctype == "multipart/report":
            report = _safe(lambda: part.get_param("report-type"), default=None)
            if isinstance(report, str):
                ctx.report_types.add(report.strip().lower())
        if ctype == "multipart/alternative":
            _walk_alternative(children, ctx=ctx, depth=depth)
        else:
            for child in children:
                _walk(child, ctx=ctx, depth=depth + 1)
        return
    try:
        _leaf(part, ctype=ctype, ctx=ctx, depth=depth)
    except Exception as exc:
        # One unreadable part should cost that part only, not the whole message.
        ctx.warn(f"could not read a {ctype} part: {type(exc).__name__}: {exc}")


def _walk_alternative(children: list[Message], *, ctx: _Context, depth: int) -> None:
    saved = ctx.segments
    text: str | None = None
    html_source: str | None = None
    for child in children:
        ctx.segments = []
        _walk(child, ctx=ctx, depth=depth + 1)
        texts = [s.text for s in ctx.segments if s.text is not None]
        htmls = [s.html for s in ctx.segments if s.html is not None]
        # The plain version is preferred for text (some mailers send an empty one: skip it);
        # the last HTML version is the richest one by RFC 2046.
        if text is None and any(t.strip() for t in texts):
            text = "\n\n".join(texts)
        if htmls:
            html_source = "\n".join(htmls)
    ctx.segments = saved
    if text is not None or html_source is not None:
        ctx.segments.append(_Segment(text=text, html=html_source))


def _leaf(part: Message, *, ctype: str, ctx: _Context, depth: int) -> None:
    disposition = _safe(part.get_content_disposition, default=None)
    filename = _filename(part, ctx=ctx)
    payload = _payload_bytes(part, ctx=ctx)
    maintype = ctype.split("/", 1)[0]

    if maintype == "message":
        # A message/* part that the parser left flat (e.g. base64-encoded, which is illegal
        # but happens): parse its bytes as the embedded message it is.
        inner = _message_from_bytes(payload, warnings=ctx.warnings)
        ctx.inner_messages.append((part, inner, depth + 1))
        return
    if ctype == "text/rfc822-headers":
        ctx.returned_headers.append(_message_from_bytes(payload, warnings=ctx.warnings))
        return
    if maintype == "multipart":
        ctx.warn(f"{ctype} part without readable sub-parts, read as text")
        ctype = "text/plain"

    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        charset = _safe(part.get_content_charset, default=None)
        if ctype == "text/html" and not charset:
            charset = _html_meta_charset(payload)
        text = _decode_bytes(payload, charset=charset, where=f"{ctype} body", warnings=ctx.warnings)
        if ctype == "text/html":
            ctx.segments.append(_Segment(html=text))
            return
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if str(_safe(lambda: part.get_param("format"), default="")).lower() == "flowed":
            delsp = str(_safe(lambda: part.get_param("delsp"), default="")).lower() == "yes"
            text = _unflow(text, delsp=delsp)
        ctx.segments.append(_Segment(text=text))
        return

    content_id = _normalise_message_id(_safe(lambda: _raw_header(part, "content-id"), default=None))
    is_inline = disposition == "inline" or (disposition is None and content_id is not None)
    _add_attachment(
        ctx,
        filename=filename,
        content_type=ctype,
        payload=payload,
        is_inline=is_inline,
        content_id=content_id,
    )


def _raw_header(part: Message, name: str) -> str | None:
    for key, value in part.raw_items():
        if key.lower() == name:
            return _unfold(str(value))
    return None


def _filename(part: Message, *, ctx: _Context) -> str:
    name = _safe(part.get_filename, default=None)
    if not isinstance(name, str) or not name.strip():
        return ""
    name = _recover_8bit(name, warnings=ctx.warnings)
    if "=?" in name:
        name = decode_header_value(name, warnings=ctx.warnings)
    return name


def _payload_bytes(part: Message, *, ctx: _Context) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception as exc:
        ctx.warn(f"could not decode a part's transfer encoding: {type(exc).__name__}")
        data = None
    if isinstance(data, bytes):
        return data
    raw = _safe(part.get_payload, default="")
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _html_meta_charset(payload: bytes) -> str | None:
    match = re.search(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", payload[:4096], re.I)
    return match.group(1).decode("ascii") if match else None


def _unflow(text: str, *, delsp: bool) -> str:
    """Join RFC 3676 format=flowed soft line breaks, keeping quote levels apart."""
    lines: list[str] = []
    buffer = ""
    buffer_depth = -1
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if buffer and depth != buffer_depth:
            lines.append(_quote_prefix(buffer_depth) + buffer)
            buffer = ""
        if content.endswith(" ") and content != "-- ":
            buffer += content[:-1] if delsp else content
            buffer_depth = depth
            continue
        lines.append(_quote_prefix(depth) + buffer + content)
        buffer = ""
    if buffer:
        lines.append(_quote_prefix(buffer_depth) + buffer)
    return "\n".join(lines)


def _quote_prefix(depth: int) -> str:
    return ">" * depth + " " if depth > 0 else ""


_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def sanitize_filename(name: str, *, content_type: str, index: int) -> str:
    """A display and storage name that can never be a path or a hidden file."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[\x00-\x1f\x7f<>:"|?*]', "_", name)
    name = " ".join(name.split()).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if (stem if dot else name).lower() in _WINDOWS_RESERVED:
        name = "_" + name
    if len(name.encode("utf-8")) > 200:
        ext = f".{ext}" if dot and len(ext) <= 16 else ""
        base = name[: len(name) - len(ext)] if ext else name
        while len((base + ext).encode("utf-8")) > 200:
            base = base[:-1]
        name = base.rstrip(" .") + ext
    if not name:
        guessed = mimetypes.guess_extension(content_type, strict=False) or ".bin"
        name = f"piece-jointe-{index}{guessed}"
    return name


# Attachments refused whatever the configuration: programs and scripts a click would run. Every
# other type (octet-stream, zip, rtf, PGP parts, unknown ones) is kept and served as a download
# (Content-Disposition: attachment, nosniff), never rendered in the browser.
DANGEROUS_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-elf",
        "application/vnd.microsoft.portable-executable",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-ms-shortcut",
        "application/x-bat",
        "application/x-sh",
        "application/x-csh",
        "application/x-shellscript",
        "text/x-shellscript",
        "application/javascript",
        "application/x-javascript",
        "text/javascript",
        "text/vbscript",
        "application/x-vbscript",
        "application/hta",
        "application/x-ms-application",
        "application/java-archive",
        "application/x-java-archive",
        "application/vnd.android.package-archive",
        "application/x-apple-diskimage",
        "application/x-powershell",
    }
)
_DANGEROUS_EXTENSION_WORDS = (
    "exe com scr pif bat cmd msi msp mst dll cpl sys drv ocx vbs vbe js jse mjs wsf wsh wsc "
    "ws ps1 psm1 psd1 ps1xml hta jar lnk reg scf inf url application appref-ms gadget msc sh "
    "bash csh ksh run elf apk app dmg pkg command action iso img vhd vhdx"
)
DANGEROUS_EXTENSIONS = frozenset(_DANGEROUS_EXTENSION_WORDS.split())


def dangerous_reason(filename: str, content_type: str, payload: bytes) -> str:
    """Why this attachment is refused (a program or a script), or '' to keep it."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if content_type in DANGEROUS_TYPES:
        return f"dangerous type: {content_type}"
    if ext in DANGEROUS_EXTENSIONS:
        return f"dangerous file type: .{ext}"
    head = payload[:4096]
    if head[:4] == b"\x7fELF":
        return "dangerous content: a program (ELF)"
    if head[:2] == b"MZ" and len(head) >= 64:
        offset = int.from_bytes(head[60:64], "little")
        if payload[offset : offset + 4] == b"PE\x00\x00":
            return "dangerous content: a Windows program"
    return ""


def _type_allowed(content_type: str, allowed: frozenset[str]) -> bool:
    maintype = content_type.split("/", 1)[0]
    normalised = {a.strip().lower() for a in allowed}
    return content_type in normalised or f"{maintype}/*" in normalised or "*/*" in normalised


def _add_attachment(
    ctx: _Context,
    *,
    filename: str,
    content_type: str,
    payload: bytes,
    is_inline: bool,
    content_id: str | None,
) -> None:
    if content_type in ("application/octet-stream", "") and filename:
        # Many mailers label everything octet-stream; the extension is then the best hint.
        guessed, _ = mimetypes.guess_type(filename, strict=False)
        content_type = guessed or "application/octet-stream"
    index = len(ctx.attachments) + len(ctx.skipped) + 1
    safe_name = sanitize_filename(filename, content_type=content_type, index=index)
    size = len(payload)
    reason = dangerous_reason(safe_name, content_type, payload) if ctx.refuse_dangerous else ""
    allowed = ctx.allowed_attachment_types
    if reason:
        pass
    elif allowed is not None and not _type_allowed(content_type, allowed):
        reason = f"type not allowed: {content_type}"
    elif size > ctx.max_attachment_bytes:
        reason = f"too large: {size} bytes (limit {ctx.max_attachment_bytes} bytes)"
    if reason:
        ctx.skipped.append(SkippedAttachment(safe_name, content_type, size, reason))
        return
    ctx.attachments.append(
        ParsedAttachment(
            filename=safe_name,
            content_type=content_type,
            payload=payload,
            size=size,
            is_inline=is_inline,
            content_id=content_id,
        )
    )


def _delivery_status_blocks(part: Message, *, ctx: _Context) -> list[dict[str, str]]:
    """Field blocks of a DSN: the first is per-message, the others per-recipient."""
    payload = _safe(part.get_payload, default=None)
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):
        for block in payload:
            if not isinstance(block, Message):
                continue
            fields: dict[str, str] = {}
            for name, value in _safe(lambda b=block: list(b.raw_items()), default=[]):
                text = _unfold(_recover_8bit(str(value), warnings=ctx.warnings)).strip()
                fields.setdefault(name.strip().lower(), text)
            blocks.append(fields)
        return blocks
    text = _decode_bytes(
        _payload_bytes(part, ctx=ctx), charset="utf-8", where="DSN", warnings=ctx.warnings
    )
    for chunk in re.split(r"\r?\n[ \t]*\r?\n", text):
        fields = {}
        for line in re.sub(r"\r?\n[ \t]+", " ", chunk).splitlines():
            name, colon, value = line.partition(":")
            if colon:
                fields.setdefault(name.strip().lower(), value.strip())
        if fields:
            blocks.append(fields)
    return blocks


def _handle_inner_messages(ctx: _Context, *, result: ParsedEmail) -> None:
    """Embedded messages: the original returned by a bounce, or a forward-as-attachment."""
    handled = 0
    while handled < len(ctx.inner_messages):
        part, inner, depth = ctx.inner_messages[handled]
        handled += 1
        inner_headers = _Headers(inner, warnings=ctx.warnings)
        if result.is_bounce or ctx.report_types:
            # Our own message coming back (bounce, read receipt): kept whole for reference, its
            # content is not the viewer's and must not be read as such.
            data = _message_bytes(inner)
            name = _safe(part.get_filename, default=None) or "message-original.eml"
            _add_attachment(
                ctx,
                filename=name,
                content_type="message/rfc822",
                payload=data,
                is_inline=False,
                content_id=None,
            )
            continue
        senders = _addresses(inner_headers.all("from")[:1], warnings=ctx.warnings, label="From")
        if senders and not result.forwarded_from_email and handled == 1:
            result.forwarded_from_name, result.forwarded_from_email = senders[0]
        result.forwarded = True
        # The forwarded message is kept whole, as an .eml file staff can download (its own
        # attachments inside it: they are not the outer mail's), and its text is shown quoted.
        subject = inner_headers.text("subject")
        name = _safe(part.get_filename, default=None) or f"{subject or 'message-transfere'}.eml"
        if not name.lower().endswith(".eml"):
            name += ".eml"
        _add_attachment(
            ctx,
            filename=name,
            content_type="message/rfc822",
            payload=_message_bytes(inner),
            is_inline=False,
            content_id=None,
        )
        lines = ["---------- Message transféré ----------"]
        for label, header in (("De", "from"), ("Date", "date"), ("Objet", "subject"), ("À", "to")):
            value = inner_headers.text(header)
            if value:
                lines.append(f"{label} : {value}")
        # Its text only: its parts are read into a context of their own, whose attachments
        # stay inside the .eml (listed by name under the quote).
        inner_ctx = _Context(
            max_attachment_bytes=ctx.max_attachment_bytes,
            allowed_attachment_types=None,
            warnings=ctx.warnings,
            refuse_dangerous=False,
        )
        _walk(inner, ctx=inner_ctx, depth=depth)
        quoted_body = _clean_text(
            "\n\n".join(
                (
                    s.text if s.text is not None and s.text.strip() else html_to_text(s.html or "")
                ).strip("\r\n")
                for s in inner_ctx.segments
            )
        )
        quoted = "\n".join(f"> {line}" if line else ">" for line in quoted_body.splitlines())
        files = [a.filename for a in inner_ctx.attachments] + [
            a.filename for a in inner_ctx.skipped
        ]
        tail = [f"(Pièces jointes du message transféré, dans le fichier .eml : {', '.join(files)})"]
        text = "\n".join([*lines, quoted, *(tail if files else [])])
        html_text = (
            "<p>"
            + "<br>".join(html.escape(line) for line in lines)
            + "</p><blockquote>"
            + html.escape(quoted_body).replace("\n", "<br>")
            + "</blockquote>"
            + (f"<p>{html.escape(tail[0])}</p>" if files else "")
        )
        ctx.segments.append(_Segment(text=text, html=html_text, generated=True))


def _message_bytes(msg: Message) -> bytes:
    for policy in (email.policy.default, email.policy.compat32):
        try:
            return msg.as_bytes(policy=policy)
        except Exception:
            continue  # the next policy is more lenient
    return b""


def _assemble_body(result: ParsedEmail, *, ctx: _Context) -> None:
    texts = []
    for segment in ctx.segments:
        if segment.text is not None and (segment.text.strip() or segment.html is None):
            texts.append(segment.text)
        elif segment.html is not None:
            texts.append(html_to_text(segment.html))
    result.body_text = _clean_text("\n\n".join(t.strip("\r\n") for t in texts if t.strip()))

    if any(segment.html is not None and not segment.generated for segment in ctx.segments):
        pieces = []
        for segment in ctx.segments:
            if segment.html is not None:
                pieces.append(segment.html)
            elif segment.text is not None:
                pieces.append(
                    f'<pre style="white-space: pre-wrap">{html.escape(segment.text)}</pre>'
                )
        result.body_html, result.remote_images_blocked = _sanitize(
            "\n".join(pieces), warnings=ctx.warnings
        )


def _clean_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL_RE.sub("", text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
        "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
        "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small",
        "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
        "tr", "tt", "u", "ul",
    }
)  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "*": {"style", "title", "lang", "dir", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"},
    "table": {"width", "border", "cellpadding", "cellspacing"},
    "td": {"colspan", "rowspan", "valign", "width"},
    "th": {"colspan", "rowspan", "valign", "width"},
}
# Only properties that cannot fetch anything: no background(-image), list-style, content...
_ALLOWED_CSS = frozenset(
    {
        "color", "background-color", "font-family", "font-size", "font-style", "font-weight",
        "text-align", "text-decoration", "text-indent", "line-height", "white-space",
        "vertical-align", "margin", "margin-top", "margin-bottom", "margin-left", "margin-right",
        "padding", "padding-top", "padding-bottom", "padding-left", "padding-right", "border",
        "border-top", "border-bottom", "border-left", "border-right", "border-collapse", "width",
        "height",
    }
)  # fmt: skip
_CLEAN_CONTENT_TAGS = frozenset(
    {"script", "style", "title", "xml", "iframe", "object", "embed", "template"}
)
_DATA_IMAGE_RE = re.compile(r"^data:image/(?:png|jpeg|jpg|gif|webp);base64,", re.I)


def sanitize_html(source: str) -> str:
    """Safe HTML for the staff screen: no scripts, no handlers, nothing loaded from outside."""
    return _sanitize(source, warnings=[])[0]


def _sanitize(source: str, *, warnings: list[str]) -> tuple[str, int]:
    blocked = 0

    def keep_attribute(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        lowered = value.strip().lower()
        if tag == "img" and attribute == "src":
            # Inline parts (cid:) and embedded data are local; anything else is a request to
            # a third party (tracking pixel, viewer's IP leak) and is blocked.
            if lowered.startswith("cid:") or _DATA_IMAGE_RE.match(lowered):
                return value
            blocked += 1
            return None
        if attribute == "href" and lowered.startswith("data:"):
            return None  # data: links open attacker-made pages with a local-looking address
        return value

    try:
        cleaned = nh3.clean(
            source,
            tags=set(_ALLOWED_TAGS),
            clean_content_tags=set(_CLEAN_CONTENT_TAGS),
            attributes={tag: set(attrs) for tag, attrs in _ALLOWED_ATTRIBUTES.items()},
            attribute_filter=keep_attribute,
            url_schemes={"http", "https", "mailto", "tel", "cid", "data"},
            filter_style_properties=set(_ALLOWED_CSS),
            link_rel="noopener noreferrer nofollow",
            # A relative link would resolve against the CRM itself once displayed there.
            url_relative="deny",
            strip_comments=True,
        )
    except Exception as exc:
        warnings.append(f"HTML could not be sanitised ({type(exc).__name__}), shown as text")
        cleaned = f'<pre style="white-space: pre-wrap">{html.escape(html_to_text(source))}</pre>'
    return cleaned, blocked


_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "body", "center", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "header", "html", "main", "nav", "section",
        "tr", "caption",
    }
)  # fmt: skip
_PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "hr"}
)
_SKIP_TAGS = frozenset({"script", "style", "title", "template", "xml"})


class _HtmlToText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._newlines = 0  # newlines at the end of the output so far
        self._started = False  # nothing visible written yet: no leading blank lines
        self._skip: list[str] = []
        self._lists: list[list[int]] = []  # one counter per open list; -1 for unordered
        self._links: list[tuple[str, int]] = []
        self._pre = 0

    def _write(self, text: str) -> None:
        if not text:
            return
        self.parts.append(text)
        stripped = text.rstrip("\n")
        if stripped:
            self._started = True
            self._newlines = len(text) - len(stripped)
        else:
            self._newlines += len(text)

    def _break(self, count: int) -> None:
        """Block boundaries ask for *at least* `count` newlines, so nested blocks do not pile
        up blank lines."""
        if self._started and self._newlines < count:
            self._write("\n" * (count - self._newlines))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip.clear()  # an unclosed <title> must not swallow the whole message
        if tag in _SKIP_TAGS:
            self._skip.append(tag)
            return
        if self._skip:
            return
        attributes = {name: value or "" for name, value in attrs}
        if tag == "br":
            self._write("\n")
        elif tag in _PARAGRAPH_TAGS:
            self._break(1 if tag in ("ul", "ol") and self._lists else 2)
            if tag in ("ul", "ol"):
                self._lists.append([0 if tag == "ol" else -1])
            elif tag == "pre":
                self._pre += 1
        elif tag == "li":
            self._break(1)
            counter = self._lists[-1] if self._lists else [-1]
            indent = "  " * max(len(self._lists) - 1, 0)
            if counter[0] >= 0:
                counter[0] += 1
                self._write(f"{indent}{counter[0]}. ")
            else:
                self._write(f"{indent}- ")
        elif tag in _BLOCK_TAGS:
            self._break(1)
        elif tag in ("td", "th"):
            self._write(" ")
        elif tag == "a":
            self._links.append((attributes.get("href", "").strip(), len(self.parts)))
        elif tag == "img":
            alt = " ".join(attributes.get("alt", "").split())
            if alt:
                self._write(f"[{alt}]")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in ("br", "img", "hr"):
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if tag in _PARAGRAPH_TAGS:
            if tag in ("ul", "ol") and self._lists:
                self._lists.pop()
            elif tag == "pre" and self._pre:
                self._pre -= 1
            self._break(1 if tag in ("ul", "ol") and self._lists else 2)
        elif tag in _BLOCK_TAGS or tag == "li":
            self._break(1)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            self._append_link(href, "".join(self.parts[start:]))

    def _append_link(self, href: str, label: str) -> None:
        lowered = href.lower()
        if not lowered.startswith(("http://", "https://", "mailto:")):
            return
        target = href[7:] if lowered.startswith("mailto:") else href
        shown = " ".join(label.split())
        # Links keep their target so staff can see where a viewer points them, except when the
        # text already shows it (typically a bare address or URL).
        if target.rstrip("/") not in shown and href not in shown:
            self._write(f" ({target})" if shown else target)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            self._write(data)
            return
        text = re.sub(r"[ \t\r\n\f\v]+", " ", data)
        if self._newlines or not self._started:
            text = text.lstrip(" ")  # indentation of the HTML source is not content
        self._write(text)


_HTML_PARSER_LIMIT = 1_000_000


def html_to_text(source: str) -> str:
    """Readable text of an HTML body: paragraphs, line breaks, lists and link targets kept."""
    parser = _HtmlToText()
    try:
        if len(source) > _HTML_PARSER_LIMIT:
            raise ValueError("too large for HTMLParser")
        parser.feed(source)
        parser.close()
        text = "".join(parser.parts)
    except Exception:
        # HTMLParser is lenient but not bulletproof, and slow (tens of seconds on a few MB
        # of newsletter markup); a crude strip beats losing the message or the worker.
        stripped = re.sub(r"(?is)<(script|style|title)\b.*?</\1\s*>", " ", source)
        stripped = re.sub(r"(?i)<br\s*/?>|</(?:p|div|li|tr|h\d)\s*>", "\n", stripped)
        text = html.unescape(re.sub(r"<[^>]*>", " ", stripped))
    text = text.replace("\xa0", " ")
    lines = [" ".join(line.split()) if line.strip() else "" for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


# --------------------------------------------------------------------------------------------
# Classification: auto-replies, bounces, loops, forwards
# --------------------------------------------------------------------------------------------

# Anchored at the start: a viewer writing "Re: votre réponse automatique est inutile" is a
# person, while Outlook and Exchange put these words first.
_AUTO_SUBJECT_RE = re.compile(
    r"^\s*(?:r[ée]ponse automatique|absence du bureau|absente? du bureau|out of (?:the )?office"
    r"|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|message d['’]absence)\b",
    re.IGNORECASE,
)
_AUTO_PRECEDENCE = frozenset({"bulk", "auto_reply", "auto-reply", "junk", "list"})


def _detect_auto_reply(result: ParsedEmail, *, headers: _Headers, ctx: _Context) -> None:
    reasons: list[str] = []
    auto_submitted = headers.first("auto-submitted")
    if auto_submitted is not None:
        keyword = auto_submitted.split(";", 1)[0].strip().lower()
        if keyword and keyword != "no":
            reasons.append(f"Auto-Submitted: {keyword}")
    for name, label in (("x-autoreply", "X-Autoreply"), ("x-autorespond", "X-Autorespond")):
        value = headers.first(name)
        if value is not None and value.strip().lower() not in ("no", "false", "0"):
            reasons.append(f"{label}: {value.strip()}"[:120])
    precedence = (headers.first("precedence") or "").strip().lower()
    if precedence in _AUTO_PRECEDENCE:
        reasons.append(f"Precedence: {precedence}")
    if "disposition-notification" in ctx.report_types:
        reasons.append("read receipt (disposition-notification report)")
    if _AUTO_SUBJECT_RE.search(result.subject):
        reasons.append(f"out-of-office subject: {result.subject[:80]}")
    result.is_auto_reply = bool(reasons)
    result.auto_reason = "; ".join(reasons)


_DAEMON_RE = re.compile(
    r"mailer-daemon|postmaster|mail delivery (?:subsystem|system)", re.IGNORECASE
)
_BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|delivery status notification|mail delivery failed|returned mail|failure notice"
    r"|delivery failure|could not be delivered|non remis|[ée]chec de (?:la )?remise"
    r"|message non (?:distribu|remis)",
    re.IGNORECASE,
)


def _looks_like_plain_bounce(headers: _Headers, *, subject: str) -> bool:
    """Bounces without a delivery-status part (qmail, old Exim, some webmails)."""
    sender = " ".join(headers.all("from")[:1] + headers.all("sender")[:1])
    if not _DAEMON_RE.search(sender):
        return False
    return _return_path_is_empty(headers) or bool(_BOUNCE_SUBJECT_RE.search(subject))


_TEXT_RECIPIENT_RES = (
    # qmail / Postfix human part: "<jean@example.fr>: host ... said: 550 ..."
    re.compile(r"^\s*<([^<>\s]+@[^<>\s]+)>\s*:", re.MULTILINE),
    # Exim: the address alone on an indented line after "failed:"
    re.compile(r"failed:\s*\n(?:\s*\n)?\s+([^\s<>]+@[^\s<>]+)\s*$", re.MULTILINE | re.IGNORECASE),
    re.compile(
        r"^\s*(?:Final|Original)-Recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)>?", re.M | re.I
    ),
)
_TEXT_MESSAGE_ID_RE = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]+>|\S+@\S+)", re.MULTILINE | re.I)


def _read_bounce(result: ParsedEmail, *, ctx: _Context, own_addresses: frozenset[str]) -> None:
    recipients: list[str] = []
    reasons: list[str] = []
    actions: list[str] = []
    for block in ctx.status_blocks:
        target = block.get("final-recipient") or block.get("original-recipient")
        if not target:
            continue
        address = _clean_address(target.split(";", 1)[-1])
        action = block.get("action", "").strip().lower()
        status = block.get("status", "").strip()
        actions.append(action or status)
        if action == "failed" or (not action and status.startswith("5")):
            if is_valid_address(address) and address not in recipients:
                recipients.append(address)
            reasons.append(block.get("diagnostic-code") or status or "failed")
    if not ctx.status_blocks:
        for pattern in _TEXT_RECIPIENT_RES:
            for found in pattern.findall(result.body_text):
                address = _clean_address(found)
                if (
                    is_valid_address(address)
                    and address not in own_addresses
                    and address not in recipients
                ):
                    recipients.append(address)
    for block in ctx.feedback_blocks:
        for key in ("original-rcpt-to", "removal-recipient"):
            address = _clean_address(block.get(key, "").split(";", 1)[-1])
            if is_valid_address(address) and address not in recipients:
                recipients.append(address)
        if block.get("feedback-type"):
            kind = block["feedback-type"].strip().lower()
            reasons.append(f"abuse report ({kind}): the recipient marked our mail as spam")
    if "feedback-report" in ctx.report_types and not reasons:
        reasons.append("abuse report: the recipient marked our mail as spam")
    result.bounced_recipients = recipients
    if reasons:
        result.bounce_reason = " ".join(reasons[0].split())[:300]
    elif actions:
        result.bounce_reason = f"delivery status: {', '.join(a for a in actions if a)}"[:300]
    elif recipients:
        result.bounce_reason = "delivery failure (non-standard bounce)"

    for _, inner, _ in ctx.inner_messages:
        ident = _normalise_message_id(_Headers(inner, warnings=ctx.warnings).first("message-id"))
        if ident:
            result.bounced_message_id = ident
            return
    for returned in ctx.returned_headers:
        ident = _normalise_message_id(_Headers(returned, warnings=ctx.warnings).first("message-id"))
        if ident:
            result.bounced_message_id = ident
            return
    for found in _TEXT_MESSAGE_ID_RE.findall(result.body_text):
        ident = _normalise_message_id(found)
        if ident and ident != result.message_id:
            result.bounced_message_id = ident
            return


_STRONG_FORWARD_RE = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|message transf[ée]r[ée])\s*-{2,}"
    r"|(?:d[ée]but du message r[ée]exp[ée]di[ée]|begin forwarded message)\s*:?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Outlook writes the same separator for replies and forwards; only a forward subject tells.
_WEAK_FORWARD_RE = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:original message|message d['’]origine)\s*-{2,}|_{10,})[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Outlook's header block of the original ("De : ... / Envoyé : ..."), which recent versions
# write without any separator line.
_OUTLOOK_BLOCK_RE = re.compile(
    r"^[ \t>*]*(?:de|from)[ \t*]*:.*\n(?:.*\n){0,2}?[ \t>*]*(?:envoy[ée]|sent|date)[ \t*]*:",
    re.IGNORECASE | re.MULTILINE,
)
_FORWARD_SUBJECT_RE = re.compile(r"^\s*(?:tr|fw|fwd|wg|transf)\s*:", re.IGNORECASE)
_FORWARD_FROM_RE = re.compile(
    r"^[ \t>*]*(?:from|de|von|exp[ée]diteur)[ \t*]*:[ \t*]*(.+)$", re.IGNORECASE
)


def _detect_forward(result: ParsedEmail, *, ctx: _Context) -> None:
    text = result.body_text
    # Offsets where the original's header lines start.
    offsets = [m.end() for m in _STRONG_FORWARD_RE.finditer(text)]
    if _FORWARD_SUBJECT_RE.search(result.subject):
        offsets += [m.end() for m in _WEAK_FORWARD_RE.finditer(text)]
        offsets += [m.start() for m in _OUTLOOK_BLOCK_RE.finditer(text)]
    if not offsets:
        return
    result.forwarded = True
    if result.forwarded_from_email:
        return  # read from the embedded message itself: more reliable than the text
    # The deepest block is the original writer when a message was forwarded several times.
    for offset in sorted(set(offsets), reverse=True):
        name, address = _forwarded_sender(text[offset:], warnings=ctx.warnings)
        if address or name:
            result.forwarded_from_name, result.forwarded_from_email = name, address
            return


def _forwarded_sender(text: str, *, warnings: list[str]) -> tuple[str, str]:
    lines = text.lstrip("\n").split("\n")[:12]
    for index, line in enumerate(lines):
        match = _FORWARD_FROM_RE.match(line)
        if not match:
            continue
        value = match.group(1).strip()
        if "<" in value and ">" not in value and index + 1 < len(lines):
            value += lines[index + 1].strip()  # a webmail wrapped the address
        value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value).replace("*", "")
        found = _addresses([value], warnings=[], label="forwarded From")
        if found:
            name, address = found[0]
            return name, address
        return _display_name(value, warnings=warnings), ""
    return "", ""


def _detect_loop(
    result: ParsedEmail,
    *,
    headers: _Headers,
    own_addresses: frozenset[str],
    loop_tokens: frozenset[str],
) -> None:
    for value in headers.all("x-loop"):
        lowered = value.strip().lower()
        if any(token in lowered for token in loop_tokens) or any(
            address in lowered for address in own_addresses
        ):
            result.is_loop = True
            result.loop_reason = f"X-Loop: {value.strip()}"[:200]
            return
    senders = {result.header_from_email}
    for name in ("sender", "return-path"):
        senders.update(a for _, a in _addresses(headers.all(name)[:1], warnings=[], label=name))
    for address in sorted(senders & own_addresses):
        result.is_loop = True
        result.loop_reason = f"sent from our own address {address}"
        return


# --------------------------------------------------------------------------------------------
# Quoted replies
# --------------------------------------------------------------------------------------------

_ATTRIBUTION_RES = (
    re.compile(r"^\s*Le\b.*\d.*\b(?:a|avez)\s+[ée]crit\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*On\b.*\d.*\bwrote\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*Am\b.*\d.*\bschrieb\b.*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(?:original message|message d['’]origine)\s*-{2,}\s*$", re.I),
)
_QUOTE_CANDIDATE_RE = re.compile(r"^\s*(?:Le|On|Am|-|\*?De|\*?From)\b", re.IGNORECASE)
_ATTRIBUTION_START_RE = re.compile(r"^\s*(?:Le|On|Am)\b", re.IGNORECASE)
_OUTLOOK_FROM_RE = re.compile(r"^\s*\*?(?:de|from)\s*\*?\s*:\s*\S", re.IGNORECASE)
_OUTLOOK_NEXT_RE = re.compile(r"^\s*\*?(?:envoy[ée]|sent|date)\s*\*?\s*:", re.IGNORECASE)


def quote_strip(text: str) -> str:
    """The new part of a reply: cut at the first attribution line or Outlook header block, then
    drop remaining "> " lines (inline answers keep the viewer's words between them).

    Returns the whole text when nothing new would remain, so a display is never empty.
    """
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = _quote_start(lines)
    kept = lines[:cut]
    kept = [line for line in kept if not line.lstrip().startswith(">")]
    new = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return new if new else text.strip()


def _quote_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if not _QUOTE_CANDIDATE_RE.match(line):
            continue  # cheap pre-filter: long messages have thousands of ordinary lines
        # Gmail wraps a long attribution over two or three lines; a following line that starts
        # an attribution itself is matched on its own turn, so the viewer's line before it is
        # never taken for the beginning of the quote.
        for span in (1, 2, 3):
            following = lines[index + 1 : index + span]
            if len(following) < span - 1 or any(_ATTRIBUTION_START_RE.match(f) for f in following):
                break
            joined = " ".join(part.strip() for part in lines[index : index + span])
            if any(pattern.match(joined) for pattern in _ATTRIBUTION_RES):
                return index
        if _OUTLOOK_FROM_RE.match(line) and any(
            _OUTLOOK_NEXT_RE.match(following) for following in lines[index + 1 : index + 4]
        ):
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            if previous >= 0 and re.fullmatch(r"\s*_{10,}\s*", lines[previous]):
                return previous
            return index
    return len(lines)
