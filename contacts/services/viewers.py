"""The write path of viewers, and the normalisation of what identifies them."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

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


# --- the workspace: editing, consents, merging (and undoing a merge) --------------------------


class ViewerMergeError(ValueError):
    """A merge (or an undo) that cannot be done (message for the user)."""


_DETAIL_FIELDS = tuple(ViewerDetails.__dataclass_fields__)


def _require_viewer(by, action: str, viewer: Viewer) -> None:
    from accounts import permissions

    permissions.require(by, action, viewer)


def _replace_emails(viewer: Viewer, emails: list[str]) -> dict:
    wanted = list(dict.fromkeys(normalise_email(e) for e in emails if e and e.strip()))
    existing = {e.email: e for e in ViewerEmail.objects.filter(viewer=viewer)}
    removed = sorted(set(existing) - set(wanted))
    ViewerEmail.objects.filter(viewer=viewer, email__in=removed).delete()
    added = []
    for i, address in enumerate(wanted):
        row = existing.get(address)
        if row is None:
            ViewerEmail.objects.create(viewer=viewer, email=address, is_primary=i == 0)
            added.append(address)
        elif row.is_primary != (i == 0):
            ViewerEmail.objects.filter(pk=row.pk).update(is_primary=i == 0)
    return {"added": added, "removed": removed} if added or removed else {}


def _replace_phones(viewer: Viewer, phones: list[str]) -> dict:
    wanted = list(dict.fromkeys(n for n in (normalise_phone(p) for p in phones) if n))
    existing = {p.number: p for p in ViewerPhone.objects.filter(viewer=viewer)}
    removed = sorted(set(existing) - set(wanted))
    ViewerPhone.objects.filter(viewer=viewer, number__in=removed).delete()
    added = []
    for i, number in enumerate(wanted):
        row = existing.get(number)
        if row is None:
            ViewerPhone.objects.create(viewer=viewer, number=number, is_primary=i == 0)
            added.append(number)
        elif row.is_primary != (i == 0):
            ViewerPhone.objects.filter(pk=row.pk).update(is_primary=i == 0)
    return {"added": added, "removed": removed} if added or removed else {}


@transaction.atomic
def viewer_update(
    *,
    viewer: Viewer,
    by,
    details: ViewerDetails,
    sender_kind: str | None = None,
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    source: str = "staff",
    request=None,
) -> Viewer:
    """Change a viewer's details (and, when given, their emails and phones: the list replaces
    the current one, its first entry becoming the primary). Audited with what changed and its
    source (GDPR art. 16: who asked for the rectification — "staff" by default, or e.g.
    "viewer:letter", "viewer:phone").

    Requires `change` on viewers. Invalid phone numbers are dropped.
    """
    from accounts.services import audit_record

    _require_viewer(by, "change", viewer)
    locked = Viewer.objects.select_for_update().get(pk=viewer.pk)
    changed: dict = {}
    for name in _DETAIL_FIELDS:
        new = (getattr(details, name) or "").strip()
        if name == "country":
            new = (new or "FR").upper()[:2]
        old = getattr(locked, name)
        if new != old:
            changed[name] = [old, new]
            setattr(locked, name, new)
    if sender_kind is not None and sender_kind != locked.sender_kind:
        changed["sender_kind"] = [locked.sender_kind, sender_kind]
        locked.sender_kind = sender_kind
    if changed:
        locked.save()
    if emails is not None and (diff := _replace_emails(locked, emails)):
        changed["emails"] = diff
    if phones is not None and (diff := _replace_phones(locked, phones)):
        changed["phones"] = diff
    if changed:
        viewer_refresh_search_text(viewer=locked)
        audit_record(
            actor=by,
            action="viewer.update",
            obj=locked,
            data={"changed": changed, "source": (source or "staff").strip()[:100]},
            request=request,
        )
    return locked


def viewer_email_mark_working(*, email: ViewerEmail, by) -> None:
    """The address works again (the viewer confirmed it, the mailbox was full): clear the
    failing flag so replies and surveys go to it."""
    from accounts.services import audit_record

    _require_viewer(by, "change", email.viewer)
    ViewerEmail.objects.filter(pk=email.pk).update(
        is_failing=False, failing_since=None, failure_reason=""
    )
    audit_record(
        actor=by, action="viewer.email_working", obj=email.viewer, data={"email": email.email}
    )


def viewer_consent_record(
    *, viewer: Viewer, kind: str, granted: bool, source: str, by, request=None
):
    """Record a statement of consent (granted or withdrawn). The history is kept: the latest
    statement of each kind is the one in force."""
    from accounts.services import audit_record

    from ..models import ConsentKind, ViewerConsent

    _require_viewer(by, "change", viewer)
    if kind not in ConsentKind.values:
        raise ValueError(f"unknown consent {kind!r}")
    consent = ViewerConsent.objects.create(
        viewer=viewer,
        kind=kind,
        granted=bool(granted),
        source=(source or "").strip()[:100] or "staff",
        recorded_by=by if getattr(by, "is_authenticated", False) else None,
    )
    audit_record(
        actor=by,
        action="viewer.consent",
        obj=viewer,
        data={"kind": kind, "granted": bool(granted), "source": consent.source},
        request=request,
    )
    return consent


def viewer_consent_withdraw(*, viewer: Viewer, kinds, source: str, by=None, request=None):
    """Withdraw these consents (a statement of withdrawal per kind, the history kept).

    With `by` (staff acting on the viewer's objection) the `change` permission is required;
    without, it is the viewer's own act through a signed unsubscribe link (the caller checked
    the link). Audited with its source. Returns the statements recorded.
    """
    from accounts.services import audit_record

    from ..models import ConsentKind, ViewerConsent

    if by is not None:
        _require_viewer(by, "change", viewer)
    unknown = [k for k in kinds if k not in ConsentKind.values]
    if unknown:
        raise ValueError(f"unknown consents {unknown!r}")
    source = (source or "").strip()[:100] or "viewer"
    rows = [
        ViewerConsent(
            viewer=viewer,
            kind=kind,
            granted=False,
            source=source,
            recorded_by=by if getattr(by, "is_authenticated", False) else None,
        )
        for kind in dict.fromkeys(kinds)
    ]
    ViewerConsent.objects.bulk_create(rows)
    audit_record(
        actor=by,
        action="viewer.consent_withdraw",
        obj=viewer,
        data={"kinds": list(dict.fromkeys(kinds)), "source": source},
        request=request,
    )
    return rows


MERGE_ACTION = "viewer.merge"
MERGE_UNDO_ACTION = "viewer.merge_undo"


def _lock_viewers(*pks: int) -> dict[int, Viewer]:
    return {v.pk: v for v in Viewer.objects.select_for_update().filter(pk__in=pks).order_by("pk")}


@transaction.atomic
def viewer_merge(*, source: Viewer, target: Viewer, by, request=None):
    """Merge `source` (a duplicate) into `target`: its tickets, contacts, calls, emails,
    phones and consents move to `target`; `target`'s empty details are filled from it;
    `source` keeps `merged_into`. Returns the audit event, which stores exactly what moved so
    that `viewer_merge_undo` can put it back.

    Requires `merge` on viewers (SRT, managers). Raises ViewerMergeError.
    """
    from accounts.services import audit_record

    from ..models import CallRecord, Contact, Ticket, ViewerConsent, ViewerDuplicate

    _require_viewer(by, "merge", target)
    if source.pk == target.pk:
        raise ViewerMergeError(_("A viewer cannot be merged into themself."))
    rows = _lock_viewers(source.pk, target.pk)
    source, target = rows[source.pk], rows[target.pk]
    if source.merged_into_id or target.merged_into_id:
        raise ViewerMergeError(_("One of these viewers was already merged into another."))
    target_emails = set(ViewerEmail.objects.filter(viewer=target).values_list("email", flat=True))
    target_phones = set(ViewerPhone.objects.filter(viewer=target).values_list("number", flat=True))
    emails = [e for e in ViewerEmail.objects.filter(viewer=source) if e.email not in target_emails]
    phones = [p for p in ViewerPhone.objects.filter(viewer=source) if p.number not in target_phones]
    moved = {
        "tickets": list(Ticket.objects.filter(viewer=source).values_list("pk", flat=True)),
        "contacts": list(Contact.objects.filter(viewer=source).values_list("pk", flat=True)),
        "calls": list(CallRecord.objects.filter(viewer=source).values_list("pk", flat=True)),
        "emails": [e.pk for e in emails],
        "primary_emails": [e.pk for e in emails if e.is_primary],
        "phones": [p.pk for p in phones],
        "primary_phones": [p.pk for p in phones if p.is_primary],
        "consents": list(ViewerConsent.objects.filter(viewer=source).values_list("pk", flat=True)),
        "duplicates": list(
            ViewerDuplicate.objects.filter(
                Q(viewer=source, other=target) | Q(viewer=target, other=source),
                state=ViewerDuplicate.State.OPEN,
            ).values_list("pk", flat=True)
        ),
    }
    Ticket.objects.filter(pk__in=moved["tickets"]).update(viewer=target)
    Contact.objects.filter(pk__in=moved["contacts"]).update(viewer=target)
    CallRecord.objects.filter(pk__in=moved["calls"]).update(viewer=target)
    ViewerEmail.objects.filter(pk__in=moved["emails"]).update(viewer=target, is_primary=False)
    ViewerPhone.objects.filter(pk__in=moved["phones"]).update(viewer=target, is_primary=False)
    ViewerConsent.objects.filter(pk__in=moved["consents"]).update(viewer=target)
    ViewerDuplicate.objects.filter(pk__in=moved["duplicates"]).update(
        state=ViewerDuplicate.State.MERGED
    )
    filled = {}
    for name in (
        "civility",
        "first_name",
        "last_name",
        "organisation",
        "address_line1",
        "address_line2",
        "postcode",
        "city",
    ):
        if not getattr(target, name) and getattr(source, name):
            filled[name] = getattr(source, name)
            setattr(target, name, filled[name])
    if filled:
        target.save()
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    viewer_refresh_search_text(viewer=target)
    viewer_refresh_search_text(viewer=source)
    return audit_record(
        actor=by,
        action=MERGE_ACTION,
        obj=target,
        data={
            "source": source.pk,
            "source_name": str(source),
            "target": target.pk,
            "moved": moved,
            "filled": filled,
        },
        request=request,
    )


def viewer_merge_undone(*, event) -> bool:
    from accounts.models import AuditEvent

    return AuditEvent.objects.filter(
        action=MERGE_UNDO_ACTION,
        object_type=event.object_type,
        object_id=event.object_id,
        data__undoes=event.pk,
    ).exists()


@transaction.atomic
def viewer_merge_undo(*, event, by, request=None) -> Viewer:
    """Undo a merge from its audit event: what moved goes back to the merged viewer (what
    reached the surviving viewer since stays there), the details filled in are emptied again
    if nobody changed them since, and the merged viewer lives again. Audited.

    Raises ViewerMergeError when the event is not a merge, was undone already, or the viewer
    has been merged elsewhere since.
    """
    from accounts.services import audit_record

    from ..models import CallRecord, Contact, Ticket, ViewerConsent, ViewerDuplicate

    if event.action != MERGE_ACTION:
        raise ViewerMergeError(_("This audit entry is not a merge."))
    data = event.data or {}
    rows = _lock_viewers(data.get("source"), data.get("target"))
    source, target = rows.get(data.get("source")), rows.get(data.get("target"))
    if source is None or target is None:
        raise ViewerMergeError(_("The viewers of this merge no longer exist."))
    _require_viewer(by, "merge", target)
    if viewer_merge_undone(event=event):
        raise ViewerMergeError(_("This merge was already undone."))
    if source.merged_into_id != target.pk:
        raise ViewerMergeError(_("The merged viewer has been changed since: undo by hand."))
    moved = data.get("moved") or {}
    Ticket.objects.filter(pk__in=moved.get("tickets", []), viewer=target).update(viewer=source)
    Contact.objects.filter(pk__in=moved.get("contacts", []), viewer=target).update(viewer=source)
    CallRecord.objects.filter(pk__in=moved.get("calls", []), viewer=target).update(viewer=source)
    ViewerEmail.objects.filter(pk__in=moved.get("emails", []), viewer=target).update(viewer=source)
    ViewerEmail.objects.filter(pk__in=moved.get("primary_emails", [])).update(is_primary=True)
    ViewerPhone.objects.filter(pk__in=moved.get("phones", []), viewer=target).update(viewer=source)
    ViewerPhone.objects.filter(pk__in=moved.get("primary_phones", [])).update(is_primary=True)
    ViewerConsent.objects.filter(pk__in=moved.get("consents", []), viewer=target).update(
        viewer=source
    )
    ViewerDuplicate.objects.filter(pk__in=moved.get("duplicates", [])).update(
        state=ViewerDuplicate.State.OPEN
    )
    emptied = []
    for name, value in (data.get("filled") or {}).items():
        if getattr(target, name) == value:
            setattr(target, name, "")
            emptied.append(name)
    if emptied:
        target.save()
    source.merged_into = None
    source.save(update_fields=["merged_into", "updated_at"])
    viewer_refresh_search_text(viewer=target)
    viewer_refresh_search_text(viewer=source)
    audit_record(
        actor=by,
        action=MERGE_UNDO_ACTION,
        obj=target,
        data={"undoes": event.pk, "source": source.pk, "target": target.pk, "emptied": emptied},
        request=request,
    )
    return source
