"""The write path of viewers, and the normalisation of what identifies them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.db import transaction

from ..models import Viewer, ViewerEmail, ViewerPhone

# --- normalisation -----------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower-case, accent-free text, for matching names the way people type them."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def normalise_email(raw: str) -> str:
    return (raw or "").strip().lower()


def normalise_phone(raw: str, *, region: str = "FR") -> str | None:
    """The number in E.164 (+33612345678), or None if it is not a possible phone number."""
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def viewer_search_text(
    *,
    first_name: str,
    last_name: str,
    organisation: str,
    postcode: str,
    city: str,
    emails: list[str],
    phones: list[str],
) -> str:
    parts = [first_name, last_name, organisation, postcode, city, *emails, *phones]
    return " ".join(fold(p) for p in parts if p)


# --- viewers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewerDetails:
    civility: str = ""
    first_name: str = ""
    last_name: str = ""
    organisation: str = ""
    address_line1: str = ""
    address_line2: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "FR"


def viewer_refresh_search_text(*, viewer: Viewer) -> None:
    emails = list(viewer.emails.values_list("email", flat=True))
    phones = list(viewer.phones.values_list("number", flat=True))
    text = viewer_search_text(
        first_name=viewer.first_name,
        last_name=viewer.last_name,
        organisation=viewer.organisation,
        postcode=viewer.postcode,
        city=viewer.city,
        emails=emails,
        phones=phones,
    )
    Viewer.objects.filter(pk=viewer.pk).update(search_text=text)
    viewer.search_text = text


@transaction.atomic
def viewer_create(
    *, details: ViewerDetails, emails: list[str] = (), phones: list[str] = ()
) -> Viewer:
    """Create a viewer with normalised emails and phones (invalid phones are dropped)."""
    viewer = Viewer.objects.create(**details.__dict__)
    clean_emails = []
    for i, raw in enumerate(dict.fromkeys(normalise_email(e) for e in emails if e)):
        ViewerEmail.objects.create(viewer=viewer, email=raw, is_primary=i == 0)
        clean_emails.append(raw)
    normalised = [normalise_phone(p) for p in phones]
    for i, number in enumerate(dict.fromkeys(n for n in normalised if n)):
        ViewerPhone.objects.create(viewer=viewer, number=number, is_primary=i == 0)
    viewer_refresh_search_text(viewer=viewer)
    return viewer
