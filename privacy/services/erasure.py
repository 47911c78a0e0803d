"""Erasure by anonymisation (GDPR art. 17): a viewer's personal data removed or replaced in
every table and file store that holds it, in one transaction, keeping what the statistics need.

The plan is `ERASURE_PLAN`: one entry per table, saying which rows belong to the viewer and
what becomes of each field. An app that adds a table or a field holding viewers' data adds an
entry here (or names the field in `privacy.inventory.NOT_PERSONAL`); the test
`tests/privacy/test_inventory.py` fails until every text, char, JSON and file field of every
model is one or the other.

What is kept, so that every dashboard figure is the same before and after: rows (tickets,
contacts, calls, surveys, events), dates, channel, brand, programme, topic, level, team,
status, SLA dates and states, outcome, satisfaction scores, call durations, the viewer's
country, language and kind of sender. Texts that statistics count when non-empty (a survey's
comment) are replaced by `ERASED`, never emptied.

Kinds of entry:
- `replace`: the fields get fixed values (`ERASED`, "" or None) by one UPDATE;
- `redact`: texts kept for their meaning (the triage explanation, a case's summary, the audit
  log's details) lose every occurrence of the viewer's identifying values (names, addresses,
  emails, phones, in their usual spellings);
- `files`: the stored files (raw MIME, scans, attachments, exports) are deleted from the
  storage once the transaction commits, and the field emptied;
- `delete`: rows that are nothing but personal data (emails, phones);
- `erase_keys`: in JSON fields, the values of these keys, at any depth, become `ERASED`
  whatever they are (the names of attachments the intake refused, listed on the contact).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.apps import apps
from django.core.files.storage import default_storage
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from contacts.services.viewers import fold

logger = logging.getLogger(__name__)

# What replaces an erased text: language-neutral (staff read it in French, exports in any).
ERASED = "[…]"
# Values shorter than this are not searched for inside kept texts (a two-letter name would
# blank every "Le" of a triage explanation); they are still erased where they are fields.
MIN_REDACT_LENGTH = 3


class ErasureBlocked(Exception):
    """The law keeps this viewer's data for now (each reason is a sentence for staff)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass
class Target:
    """Who is erased: the viewer, the viewers merged into them, and what they own."""

    viewer_ids: list[int]
    ticket_ids: list[int]
    contact_ids: list[int]
    emails: list[str]
    phones: list[str]
    values: list[str]
    pattern: re.Pattern | None
    case_ids: list[int] = field(default_factory=list)

    def redact(self, value: Any) -> Any:
        """`value` (text, or JSON of dicts, lists and texts) without the viewer's values."""
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub(ERASED, value)
        if isinstance(value, list):
            return [self.redact(v) for v in value]
        if isinstance(value, dict):
            return {k: self.redact(v) for k, v in value.items()}
        return value


Where = Callable[[Target], Q]


@dataclass(frozen=True)
class Entry:
    """One table of the plan: its rows that belong to the viewer, and what each field becomes."""

    model: str  # app_label.ModelName
    where: Where
    replace: dict[str, Any] = field(default_factory=dict)
    redact: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    delete: bool = False
    # Another filter applied only to `replace` (e.g. empty comments stay empty).
    replace_where: Q | None = None
    # JSON field → keys whose values are erased wherever they appear in it.
    erase_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    why: str = ""


def _viewers(t: Target) -> Q:
    return Q(viewer_id__in=t.viewer_ids)


def _tickets(t: Target) -> Q:
    return Q(ticket_id__in=t.ticket_ids)


def _contacts(t: Target) -> Q:
    return Q(viewer_id__in=t.viewer_ids) | Q(id__in=t.contact_ids)


def _cases(t: Target) -> Q:
    return Q(case_id__in=t.case_ids)


def _audit(t: Target) -> Q:
    return (
        Q(object_type="contacts.viewer", object_id__in=[str(i) for i in t.viewer_ids])
        | Q(object_type="contacts.ticket", object_id__in=[str(i) for i in t.ticket_ids])
        | Q(object_type="contacts.contact", object_id__in=[str(i) for i in t.contact_ids])
        | Q(object_type="mediation.case", object_id__in=[str(i) for i in t.case_ids])
    )


def _outbox(t: Target) -> Q:
    """The outbox's messages to the viewer: replies and acknowledgements (their contact),
    surveys (their ticket), consent renewals (the viewer), confirmations of their comments."""
    from django.contrib.contenttypes.models import ContentType

    from mediation.models import OpinionComment

    def caused_by(model: str, ids: list[int]) -> Q:
        ct = ContentType.objects.get_for_model(apps.get_model(model))
        return Q(cause_type=ct, cause_id__in=list(ids))

    comments = OpinionComment.objects.filter(email__in=t.emails).values_list("pk", flat=True)
    return (
        Q(contact_id__in=t.contact_ids)
        | Q(ticket_id__in=t.ticket_ids)
        | caused_by("contacts.Viewer", t.viewer_ids)
        | caused_by("mediation.OpinionComment", comments)
    )


def _erase_keys(value: Any, keys: tuple[str, ...]) -> Any:
    if isinstance(value, list):
        return [_erase_keys(v, keys) for v in value]
    if isinstance(value, dict):
        return {
            k: (ERASED if k in keys and v not in ("", None) else _erase_keys(v, keys))
            for k, v in value.items()
        }
    return value


def _admin_log(t: Target) -> Q:
    from django.contrib.contenttypes.models import ContentType

    def of(model: str, ids: list[int]) -> Q:
        ct = ContentType.objects.get_for_model(apps.get_model(model))
        return Q(content_type=ct, object_id__in=[str(i) for i in ids])

    return (
        of("contacts.Viewer", t.viewer_ids)
        | of("contacts.Ticket", t.ticket_ids)
        | of("contacts.Contact", t.contact_ids)
    )


# The plan, table by table. Order matters only where a later entry finds its rows through an
# earlier one's untouched fields (quarantine finds items by the emails deleted further down).
ERASURE_PLAN: tuple[Entry, ...] = (
    Entry(
        "contacts.QuarantineItem",
        lambda t: Q(contact_id__in=t.contact_ids) | Q(source_detail__in=t.emails),
        replace={"source_detail": ERASED},
        redact=("reason", "meta"),
        files=("raw_file",),
        why="inputs set aside from their addresses or released into their contacts",
    ),
    Entry(
        "contacts.Viewer",
        lambda t: Q(id__in=t.viewer_ids),
        replace={
            "civility": "",
            "first_name": "",
            "last_name": "",
            "organisation": "",
            "address_line1": "",
            "address_line2": "",
            "postcode": "",
            "city": "",
            "search_text": "",
            "is_anonymised": True,
        },
        why="identity, address and the search column; country, language and kind stay",
    ),
    Entry("contacts.ViewerEmail", _viewers, delete=True),
    Entry("contacts.ViewerPhone", _viewers, delete=True),
    Entry(
        "contacts.ViewerDuplicate",
        lambda t: Q(viewer_id__in=t.viewer_ids) | Q(other_id__in=t.viewer_ids),
        replace={"reason": ERASED},
    ),
    Entry(
        "contacts.Ticket",
        _viewers,
        replace={"subject": ERASED},
        redact=("triage_explanation", "triage_decision"),
        why="the subject goes; topic, level, team, dates and SLA stay",
    ),
    Entry("contacts.TicketEvent", _tickets, redact=("reason", "data")),
    Entry(
        "contacts.InternalNote",
        _tickets,
        replace={"body": ERASED},
        why="staff notes about the viewer's request",
    ),
    Entry(
        "contacts.Contact",
        _contacts,
        replace={
            "subject": ERASED,
            "body_text": ERASED,
            "body_html": "",
            "sender_address": "",
            "raw_sha256": "",
            # No message can thread onto the erased history any more: a new email from the
            # same person starts a new ticket with a new viewer.
            "message_id": None,
            "in_reply_to": "",
            "references": "",
        },
        redact=("delivery_error", "meta"),
        files=("raw_file",),
        # The parts the intake refused are listed by name in `meta` (and forwarded messages'
        # parts): a file name is the viewer's free text.
        erase_keys={"meta": ("filename",)},
        why="both directions: the viewer's messages and the replies addressed to them",
    ),
    Entry(
        "outbox.OutboxMessage",
        _outbox,
        replace={
            "recipients": [],
            "reply_to": "",
            "subject": ERASED,
            "body_text": ERASED,
            "body_html": "",
        },
        # Threading headers and SMTP answers quote the viewer's addresses; the Message-ID of
        # a reply may carry the one the viewer's mail had. Kind, state, dates stay (the
        # managers' page and the delivery figures).
        redact=("headers", "last_answer", "message_id"),
        why="every message sent to the viewer, whatever its state",
    ),
    Entry(
        "contacts.Attachment",
        lambda t: Q(contact_id__in=t.contact_ids),
        replace={"filename": ERASED, "content_id": "", "sha256": ""},
        files=("file",),
        why="attachments, and the PDFs of reply letters",
    ),
    Entry(
        "contacts.LetterScan",
        lambda t: Q(contact_id__in=t.contact_ids),
        replace={"original_filename": ERASED, "ocr_text": ERASED, "proposed": {}, "sha256": ""},
        redact=("ocr_note",),
        files=("file", "preview"),
    ),
    Entry(
        "contacts.CallRecord",
        lambda t: Q(viewer_id__in=t.viewer_ids) | Q(contact_id__in=t.contact_ids),
        replace={"caller_number": ""},
        why="the caller's number; times and outcome stay for the service level",
    ),
    Entry(
        "contacts.CallEvent",
        lambda t: Q(call__viewer_id__in=t.viewer_ids) | Q(call__contact_id__in=t.contact_ids),
        redact=("payload",),
    ),
    Entry(
        "satisfaction.Survey",
        _tickets,
        replace={"comment": ERASED},
        replace_where=~Q(comment=""),
        why="the comment becomes a marker, so the count of comments stays; the score stays",
    ),
    Entry("mediation.Case", lambda t: Q(id__in=t.case_ids), redact=("title", "summary")),
    Entry("mediation.CaseEvent", _cases, redact=("text", "data")),
    Entry("mediation.ConfidentialNote", _cases, redact=("body",)),
    Entry("mediation.CommentRequest", _cases, redact=("question", "answer")),
    Entry(
        "mediation.Opinion",
        _cases,
        redact=("title", "question", "department_answer", "body", "review_comment", "search_text"),
        why="published opinions name no viewer; this is the safety net",
    ),
    Entry(
        "mediation.OpinionComment",
        lambda t: Q(email__in=t.emails),
        replace={"author_name": ERASED, "email": "", "body": ERASED},
        redact=("rejection_reason",),
        why="the viewer's own comments on published opinions",
    ),
    Entry(
        "replies.PrintBatch",
        lambda t: Q(contacts__id__in=t.contact_ids),
        files=("pdf",),
        why="a printed batch's PDF holds the viewer's address: the file goes, the record stays",
    ),
    Entry(
        "accounts.AuditEvent",
        _audit,
        redact=("object_repr", "data"),
        why="the log keeps who did what and when, not the viewer's values",
    ),
    Entry(
        "admin.LogEntry",
        _admin_log,
        redact=("object_repr", "change_message"),
        why="the Django admin's history of changes to the viewer's rows",
    ),
    Entry(
        "privacy.PrivacyRequest",
        _viewers,
        redact=("outcome", "extension_reason"),
        files=("archive", "pdf"),
        why="the requests stay (the DPO's records), their files go",
    ),
    Entry("privacy.LegalHold", _viewers, redact=("reason",)),
    Entry("privacy.ConsentRenewal", _viewers, delete=True),
)


# --- who and what is erased --------------------------------------------------------------------


def _phone_spellings(number: str) -> list[str]:
    out = [number]
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return out
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = re.sub(r"\D", "", national)
    out += [national, international, digits, national.replace(" ", "."), digits[1:]]
    return out


def _pattern(values: Iterable[str]) -> re.Pattern | None:
    spellings: set[str] = set()
    for v in values:
        v = (v or "").strip()
        if len(v) < MIN_REDACT_LENGTH:
            continue
        spellings.add(v)
        spellings.add(fold(v))
    if not spellings:
        return None
    alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


# Keys of the viewer's audit lines whose values are the viewer's details, as they were then
# (a rectification keeps old and new; a merge names the merged viewer; contacts.services).
_AUDITED_DETAILS = ("changed", "filled", "email", "source_name")


def _former_values(viewer_ids: list[int]) -> list[str]:
    """Details the viewer had before a rectification or a merge, found in their audit lines:
    they are erased too."""
    from accounts.models import AuditEvent

    values = []
    for data in AuditEvent.objects.filter(
        object_type="contacts.viewer", object_id__in=[str(i) for i in viewer_ids]
    ).values_list("data", flat=True):
        if isinstance(data, dict):
            for key in _AUDITED_DETAILS:
                values += _strings(data.get(key))
    # Field names and sources are not values: the pattern matches whole words only, and the
    # fixed words of the product (civility, "staff") are shorter than names or are codes.
    return [v for v in values if v not in {"M.", "Mme", "FR", "private"}]


def erasure_target(*, viewer_id: int | None = None, viewer_ids: list[int] = ()) -> Target:
    """The viewer (or viewers: the retention run erases a batch at once), every viewer merged
    into them (their rows share the same history), and the ids and identifying values the plan
    needs. A batch's values form one pattern: redacting one erased viewer's name in another's
    texts changes nothing that is kept."""
    from contacts.models import CallRecord, Contact, Ticket, Viewer, ViewerEmail, ViewerPhone
    from mediation.models import CaseTicket

    ids = [viewer_id] if viewer_id is not None else list(viewer_ids)
    frontier = list(ids)
    while frontier:
        frontier = list(
            Viewer.objects.filter(merged_into_id__in=frontier)
            .exclude(id__in=ids)
            .values_list("id", flat=True)
        )
        ids += frontier
    ticket_ids = list(Ticket.objects.filter(viewer_id__in=ids).values_list("id", flat=True))
    contact_ids = list(
        Contact.objects.filter(Q(viewer_id__in=ids) | Q(ticket_id__in=ticket_ids)).values_list(
            "id", flat=True
        )
    )
    emails = list(ViewerEmail.objects.filter(viewer_id__in=ids).values_list("email", flat=True))
    phones = list(ViewerPhone.objects.filter(viewer_id__in=ids).values_list("number", flat=True))
    values: list[str] = [*emails]
    for email in emails:
        local = email.partition("@")[0]
        if len(local) >= 5:
            values.append(local)
    for row in Viewer.objects.filter(id__in=ids).values(
        "first_name", "last_name", "organisation", "address_line1", "address_line2", "city"
    ):
        values += row.values()
        if row["first_name"] and row["last_name"]:
            values.append(f"{row['first_name']} {row['last_name']}")
            values.append(f"{row['last_name']} {row['first_name']}")
    for row in Viewer.objects.filter(id__in=ids).values_list("postcode", flat=True):
        if len(row) >= 4:
            values.append(row)
    values += _former_values(ids)
    senders = Contact.objects.filter(id__in=contact_ids).exclude(sender_address="")
    values += senders.values_list("sender_address", flat=True).distinct()
    callers = CallRecord.objects.filter(viewer_id__in=ids).exclude(caller_number="")
    phones += [n for n in callers.values_list("caller_number", flat=True) if n not in phones]
    for number in phones:
        values += _phone_spellings(number)
    case_ids = list(
        CaseTicket.objects.filter(ticket_id__in=ticket_ids)
        .values_list("case_id", flat=True)
        .distinct()
    )
    return Target(
        viewer_ids=ids,
        ticket_ids=ticket_ids,
        contact_ids=contact_ids,
        emails=[e.lower() for e in emails],
        phones=phones,
        values=[v for v in dict.fromkeys(values) if v],
        pattern=_pattern(values),
        case_ids=case_ids,
    )


def erasure_blockers(*, viewer_id: int, target: Target | None = None) -> list[str]:
    """Why the law keeps this viewer's data for now: an open mediation case about one of their
    requests, an active legal hold, an ongoing dispute. Empty: nothing stops an erasure."""
    from mediation.models import Case, CaseStatus

    from ..models import HoldKind, LegalHold

    target = target or erasure_target(viewer_id=viewer_id)
    reasons = []
    cases = Case.objects.filter(id__in=target.case_ids, status=CaseStatus.OPEN)
    for reference in cases.values_list("reference", flat=True):
        reasons.append(_("The mediation case %(ref)s is open.") % {"ref": reference})
    holds = LegalHold.objects.filter(viewer_id__in=target.viewer_ids, lifted_at__isnull=True)
    for kind, reason in holds.values_list("kind", "reason"):
        label = _("Ongoing dispute") if kind == HoldKind.DISPUTE else _("Legal hold")
        reasons.append(f"{label} : {reason}")
    return reasons


# --- applying the plan -------------------------------------------------------------------------


def _allow_audit_redaction() -> None:
    """The audit log refuses updates (ORM and, on PostgreSQL, a trigger). Erasure is the one
    writer allowed to redact it: the trigger lets an UPDATE through when this transaction set
    `crm.audit_redaction` and the row keeps its time, actor, action and object (migration
    privacy 0003)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('crm.audit_redaction', 'on', true)")


def _update(queryset: models.QuerySet, **values: Any) -> int:
    # `models.QuerySet.update` rather than the manager's: the audit log's queryset refuses
    # updates on purpose, and this module is its one sanctioned redactor.
    return models.QuerySet.update(queryset, **values)


def _apply(entry: Entry, target: Target, counts: dict[str, int], doomed: list[str]) -> None:
    model = apps.get_model(entry.model)
    rows = model._base_manager.filter(entry.where(target))
    if entry.model == "replies.PrintBatch":
        rows = model._base_manager.filter(pk__in=rows.values("pk"))
    touched = 0
    for name in entry.files:
        with_file = rows.exclude(**{name: ""}).exclude(**{f"{name}__isnull": True})
        names = list(with_file.values_list(name, flat=True))
        if names:
            doomed.extend(names)
            touched = max(touched, _update(with_file, **{name: ""}))
    if entry.redact and target.pattern is not None:
        changed = []
        for row in rows.only("pk", *entry.redact):
            dirty = False
            for name in entry.redact:
                old = getattr(row, name)
                new = target.redact(old)
                if new != old:
                    setattr(row, name, new)
                    dirty = True
            if dirty:
                changed.append(row)
        for row in changed:
            _update(
                model._base_manager.filter(pk=row.pk),
                **{n: getattr(row, n) for n in entry.redact},
            )
        touched = max(touched, len(changed))
    for name, keys in entry.erase_keys.items():
        changed_rows = 0
        for pk, old in rows.exclude(**{name: None}).values_list("pk", name):
            new = _erase_keys(old, keys)
            if new != old:
                _update(model._base_manager.filter(pk=pk), **{name: new})
                changed_rows += 1
        touched = max(touched, changed_rows)
    if entry.replace:
        replace_rows = rows if entry.replace_where is None else rows.filter(entry.replace_where)
        touched = max(touched, _update(replace_rows, **entry.replace))
    if entry.delete:
        touched = max(touched, rows.delete()[0])
    if touched:
        counts[entry.model] = counts.get(entry.model, 0) + touched


def _delete_files(names: list[str]) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # a file store down must not undo the erasure; the name is logged
            logger.exception("erasure: could not delete %s from the file store", name)


@dataclass
class ErasureReport:
    viewer_ids: list[int]
    counts: dict[str, int]
    files: int
    seconds: float


def _anonymise(viewer_ids: list[int], *, by, reason: str, request=None) -> ErasureReport:
    """Apply the plan to these (locked, unblocked) viewers; call inside a transaction."""
    from accounts.services import audit_record

    started = time.monotonic()
    target = erasure_target(viewer_ids=viewer_ids)
    _allow_audit_redaction()
    counts: dict[str, int] = {}
    doomed: list[str] = []
    for entry in ERASURE_PLAN:
        _apply(entry, target, counts, doomed)
    for pk in viewer_ids:
        audit_record(
            actor=by,
            action="privacy.erasure",
            object_type="contacts.viewer",
            object_id=pk,
            data={"reason": reason, "viewers": target.viewer_ids, "counts": counts}
            if len(viewer_ids) == 1
            else {"reason": reason, "batch": len(viewer_ids)},
            request=request,
        )
    transaction.on_commit(lambda: _delete_files(doomed))
    return ErasureReport(
        viewer_ids=target.viewer_ids,
        counts=counts,
        files=len(doomed),
        seconds=time.monotonic() - started,
    )


def viewer_anonymise(*, viewer_id: int, by=None, reason: str, request=None) -> ErasureReport:
    """Erase the viewer's personal data everywhere the plan knows, in one transaction (the
    viewer row locked first), and audit it with the counts only. Files leave the store once
    the transaction commits. Irreversible.

    Raises ErasureBlocked with the law's reasons (open mediation case, legal hold, dispute).
    Idempotent: erasing an anonymised viewer again finds nothing left to change. Callers check
    who may ask (`privacy.services.requests.erasure_confirm`, the retention run).
    """
    from contacts.models import Viewer

    with transaction.atomic():
        viewer = Viewer.objects.select_for_update().get(pk=viewer_id)
        blockers = erasure_blockers(viewer_id=viewer.pk)
        if blockers:
            raise ErasureBlocked(blockers)
        return _anonymise([viewer.pk], by=by, reason=reason, request=request)


def viewers_anonymise(*, viewer_ids: list[int], reason: str) -> tuple[list[int], list[int]]:
    """The retention run's batch: erase these viewers in one transaction, skipping those the
    law keeps (open mediation case, hold). Returns (erased ids, skipped ids)."""
    from contacts.models import Viewer
    from mediation.models import CaseStatus, CaseTicket

    from ..models import LegalHold

    with transaction.atomic():
        ids = list(
            Viewer.objects.select_for_update()
            .filter(pk__in=viewer_ids, is_anonymised=False)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        held = set(
            LegalHold.objects.filter(viewer_id__in=ids, lifted_at__isnull=True).values_list(
                "viewer_id", flat=True
            )
        )
        in_case = set(
            CaseTicket.objects.filter(
                ticket__viewer_id__in=ids, case__status=CaseStatus.OPEN
            ).values_list("ticket__viewer_id", flat=True)
        )
        # A viewer merged into another goes with it; its own case or hold blocks the batch's
        # member it belongs to (checked one by one, rare).
        merged = Viewer.objects.filter(merged_into_id__in=ids).values_list(
            "merged_into_id", flat=True
        )
        blocked = held | in_case | {pk for pk in set(merged) if erasure_blockers(viewer_id=pk)}
        todo = [pk for pk in ids if pk not in blocked]
        if todo:
            _anonymise(todo, by=None, reason=reason)
    return todo, sorted(blocked)
