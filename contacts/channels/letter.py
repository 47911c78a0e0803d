"""Postal letters: what a scan is, how a batch splits into letters, and who the OCR says wrote.

Pure functions (bytes and text in, facts out) plus Pillow for assembling pages; the mailroom
service decides and stores.
"""

from __future__ import annotations

import io
import re
from dataclasses import asdict, dataclass

from PIL import Image

# Recognised by their first bytes, never by the name or the browser's claimed type.
_MAGIC = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"II*\x00", "image/tiff", "tif"),
    (b"MM\x00*", "image/tiff", "tif"),
]
SCAN_TYPES = {ctype for _, ctype, _ in _MAGIC}


def scan_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of a supported scan, from its first bytes; None otherwise."""
    for magic, ctype, ext in _MAGIC:
        if head.startswith(magic):
            return ctype, ext
    return None


def parse_split(spec: str, pages: int) -> list[list[int]]:
    """Page groups (1-based) from a split spec: "" or "all" (one letter), "1" or "2" (a letter
    every N pages), or ranges "1-2, 3, 4-6". Raises ValueError with a reason."""
    spec = (spec or "").strip().lower()
    if pages < 1:
        raise ValueError("no pages")
    if spec in ("", "all"):
        return [list(range(1, pages + 1))]
    if spec.isdigit():
        size = int(spec)
        if size < 1:
            raise ValueError("the number of pages per letter must be at least 1")
        return [list(range(i, min(i + size, pages + 1))) for i in range(1, pages + 1, size)]
    groups, seen = [], set()
    for part in spec.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if not match:
            raise ValueError(f"cannot read “{part}”: write ranges such as 1-2, 3, 4-6")
        start = int(match.group(1))
        end = int(match.group(2) or start)
        if start < 1 or end > pages or end < start:
            raise ValueError(f"pages {part} are outside 1–{pages}")
        group = list(range(start, end + 1))
        if seen & set(group):
            raise ValueError(f"pages {part} are in two letters")
        seen |= set(group)
        groups.append(group)
    return groups


def pages_to_pdf(page_images: list) -> bytes:
    """One PDF from page images (paths or PIL images), for a letter split out of a batch."""
    images = []
    for page in page_images:
        image = page if isinstance(page, Image.Image) else Image.open(page)
        images.append(image.convert("RGB"))
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    return out.getvalue()


# --- who wrote: a proposal from the OCR text ---------------------------------------------------


@dataclass
class ProposedIdentity:
    civility: str = ""
    first_name: str = ""
    last_name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    city: str = ""
    email: str = ""
    phone: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


_CIVILITY_RE = re.compile(
    r"^\s*(M\.|Mr\.?|Monsieur|Mme\.?|Madame|Mlle\.?|Mademoiselle)\s+(.+?)\s*$", re.IGNORECASE
)
_POSTCODE_RE = re.compile(
    r"^\s*(?:F-?\s*)?(\d{2}\s?\d{3})\s+([A-Za-zÀ-ÿ][A-Za-zÀ-ÿ' \-]+?)"
    r"(?:\s+CEDEX(?:\s*\d+)?)?\s*$",
    re.IGNORECASE,
)
_STREET_RE = re.compile(
    r"^\s*\d+[\s,]*(?:bis|ter)?\s*,?\s*(?:rue|avenue|av\.|boulevard|bd|place|chemin|allée|"
    r"allee|impasse|route|quai|cours|square|lieu-dit|résidence|residence|hameau|chaussée)\b",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_RE = re.compile(r"(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}")
# Our own letterhead ("France Télévisions … 75015 Paris") is not the sender.
_OWN_WORDS = (
    "france télévisions",
    "france televisions",
    "france 2",
    "france 3",
    "france 5",
    "service des relations",
    "téléspectateurs",
    "telespectateurs",
)


def _is_own(line: str) -> bool:
    low = line.lower()
    return any(word in low for word in _OWN_WORDS)


def _names(rest: str) -> tuple[str, str]:
    words = [w for w in re.split(r"\s+", rest.strip(" ,.")) if w]
    if not words:
        return "", ""
    upper = [w for w in words if w.isupper() and len(w) > 1]
    if upper and len(upper) < len(words):
        last = " ".join(upper)
        first = " ".join(w for w in words if w not in upper)
        return first.title(), last.title()
    if len(words) == 1:
        return "", words[0].title()
    return " ".join(words[:-1]).title(), words[-1].title()


def propose_identity(text: str) -> ProposedIdentity:
    """The sender's identity and postal address as the letter's top lines give them.

    French letters put the sender's block at the top left: a civility and name, a street line,
    then "postcode city". The first such block that is not our own address wins; the
    mailroom checks it before anything is stored.
    """
    found = ProposedIdentity()
    lines = [line.strip() for line in (text or "").splitlines()]
    head = [line for line in lines[:40] if line]
    # Paragraphs (address blocks are separated by blank lines); a block naming us is ours.
    blocks, current = [], []
    for line in lines[:60]:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    for block in blocks[:8]:
        if any(_is_own(line) for line in block):
            continue
        index = next((i for i, line in enumerate(block) if _POSTCODE_RE.match(line)), None)
        if index is None:
            continue
        match = _POSTCODE_RE.match(block[index])
        found.postcode = match.group(1).replace(" ", "")
        found.city = match.group(2).strip().title()
        before = block[max(0, index - 4) : index]
        for candidate in before:
            civ = _CIVILITY_RE.match(candidate)
            if civ and not found.last_name:
                word = civ.group(1).lower().rstrip(".")
                found.civility = (
                    "Mme" if word in ("mme", "madame", "mlle", "mademoiselle") else "M."
                )
                found.first_name, found.last_name = _names(civ.group(2))
            elif _STREET_RE.match(candidate) and not found.address_line1:
                found.address_line1 = candidate
            elif found.address_line1 and not found.address_line2 and not civ:
                found.address_line2 = candidate
        if not found.last_name and before:
            first_line = before[0]
            if not _STREET_RE.match(first_line) and not any(c.isdigit() for c in first_line):
                found.first_name, found.last_name = _names(first_line)
        break
    if not found.last_name:
        for line in head[:15]:
            civ = _CIVILITY_RE.match(line)
            if civ and not _is_own(line) and len(civ.group(2).split()) <= 4:
                word = civ.group(1).lower().rstrip(".")
                found.civility = (
                    "Mme" if word in ("mme", "madame", "mlle", "mademoiselle") else "M."
                )
                found.first_name, found.last_name = _names(civ.group(2))
                break
    email = _EMAIL_RE.search(text or "")
    if email:
        found.email = email.group(0).lower()
    phone = _PHONE_RE.search(text or "")
    if phone:
        found.phone = re.sub(r"[\s.-]", "", phone.group(0))
    return found
