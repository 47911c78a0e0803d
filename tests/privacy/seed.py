"""A viewer with data in every place the product keeps it, each value distinctive enough to be
searched for in the whole database and file store after an erasure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.services import audit_record
from contacts.models import (
    Attachment,
    CallEvent,
    CallRecord,
    Channel,
    ConsentKind,
    Contact,
    Direction,
    InternalNote,
    LetterBatch,
    LetterScan,
    QuarantineItem,
    Status,
    TicketEvent,
    TicketEventKind,
    Viewer,
    ViewerConsent,
    ViewerDuplicate,
    ViewerEmail,
    ViewerPhone,
)
from contacts.services.viewers import ViewerDetails, viewer_refresh_search_text, viewer_update
from mediation.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseTicket,
    CommentRequest,
    ConfidentialNote,
    Opinion,
    OpinionComment,
)
from outbox.models import FailureKind, MessageKind, MessageState, OutboxMessage
from privacy.models import ConsentRenewal
from satisfaction.models import Survey
from tests.factories import TicketFactory, brand

FIRST = "Philibert"
LAST = "Zorglubovitch"
ORG = "Association Quenouille-Zébrée"
ADDRESS1 = "17 impasse des Ornithorynques"
ADDRESS2 = "Bâtiment Xylophone"
POSTCODE = "98799"
CITY = "Trifouillis-les-Zébrures"
EMAIL = "philibert.zorglubovitch@exemple-prive.fr"
EMAIL2 = "pz.quokka77@courriel.test"
PHONE = "+33687654329"
PHONE_NATIONAL = "06 87 65 43 29"
MERGED_LAST = "Zorglubovitz"
MERGED_EMAIL = "zorglu.ancien@vieux-courriel.test"
SECRETS = [
    "SUJET-SECRET-QX",
    "CORPS-SECRET-KW",
    "PIECE-SECRETE-JV",
    "NOTE-SECRETE-HB",
    "COMMENTAIRE-SECRET-GN",
    "SCAN-SECRET-FM",
    "PIECE-REFUSEE-TX",
    "COURRIEL-SORTANT-PW",
]


@dataclass
class Seeded:
    viewer: Viewer
    values: list[str]
    files: list[str] = field(default_factory=list)
    tickets: list = field(default_factory=list)


def _file(field_file, name: str, text: str, files: list[str]) -> None:
    field_file.save(name, ContentFile(text.encode()), save=True)
    files.append(field_file.name)


def seed_viewer(*, staff, mediator, when=None) -> Seeded:
    """`staff`: a manager (writes notes, rectifies); `mediator`: writes the confidential note."""
    when = when or timezone.now() - timedelta(days=10)
    files: list[str] = []
    viewer = Viewer.objects.create(
        civility="M.",
        first_name=FIRST,
        last_name="Zorglubovich",  # rectified below: the audit keeps old and new
        organisation=ORG,
        address_line1=ADDRESS1,
        address_line2=ADDRESS2,
        postcode=POSTCODE,
        city=CITY,
        created_at=when - timedelta(days=400),
    )
    ViewerEmail.objects.create(viewer=viewer, email=EMAIL, is_primary=True)
    ViewerPhone.objects.create(viewer=viewer, number=PHONE, is_primary=True)
    viewer_update(
        viewer=viewer,
        by=staff,
        details=ViewerDetails(
            civility="M.",
            first_name=FIRST,
            last_name=LAST,
            organisation=ORG,
            address_line1=ADDRESS1,
            address_line2=ADDRESS2,
            postcode=POSTCODE,
            city=CITY,
        ),
        emails=[EMAIL, EMAIL2],
        source="viewer:letter",
    )
    viewer.refresh_from_db()
    ViewerConsent.objects.create(
        viewer=viewer, kind=ConsentKind.MARKETING, granted=True, source="web"
    )
    merged = Viewer.objects.create(first_name=FIRST, last_name=MERGED_LAST, merged_into=viewer)
    ViewerEmail.objects.create(viewer=merged, email=MERGED_EMAIL, is_primary=True)
    viewer_refresh_search_text(viewer=merged)
    other = Viewer.objects.create(first_name="Autre", last_name="Personne")
    ViewerDuplicate.objects.create(viewer=viewer, other=other, reason=f"même nom {LAST} {POSTCODE}")

    # An email request with its raw MIME, an attachment, a reply, a note and a survey.
    t1 = TicketFactory(
        viewer=viewer,
        brand=brand("france2"),
        subject=f"Réclamation SUJET-SECRET-QX de {FIRST} {LAST}",
        channel=Channel.EMAIL,
        status=Status.RESOLVED,
        created_at=when,
        resolved_at=when + timedelta(days=1),
        first_responded_at=when + timedelta(hours=5),
        first_response_due_at=when + timedelta(days=2),
        resolution_due_at=when + timedelta(days=5),
        triage_explanation=f"Expéditeur {EMAIL} ({FIRST} {LAST}) : règle programme_info.",
        triage_decision={"level": 1, "facts": {"sender_email": EMAIL, "sender_name": LAST}},
        tags=["rgpd"],
    )
    c1 = Contact.objects.create(
        ticket=t1,
        viewer=viewer,
        channel=Channel.EMAIL,
        direction=Direction.INBOUND,
        occurred_at=when,
        subject=t1.subject,
        body_text=f"Bonjour, je suis {FIRST} {LAST}, {ADDRESS1}, {POSTCODE} {CITY}. "
        f"Tél. {PHONE_NATIONAL}. CORPS-SECRET-KW",
        body_html=f"<p>{FIRST} {LAST} CORPS-SECRET-KW</p>",
        sender_address=EMAIL,
        message_id=f"<abc.{EMAIL}>",
        meta={
            "to": ["relations@france2.fr"],
            "forwarded_from": EMAIL2,
            # A part the intake refused, listed on the contact by its name.
            "skipped_attachments": [
                {
                    "filename": "PIECE-REFUSEE-TX.exe",
                    "content_type": "application/x-msdownload",
                    "size": 4096,
                    "reason": "dangerous: a program",
                    "code": "dangerous",
                }
            ],
        },
    )
    _file(c1.raw_file, "message.eml", f"From: {FIRST} {LAST} <{EMAIL}>\n\nCORPS-SECRET-KW", files)
    att = Attachment(
        contact=c1,
        filename=f"{LAST}-piece.txt",
        content_type="text/plain",
        size=10,
        sha256="0" * 64,
    )
    _file(att.file, "piece.txt", f"PIECE-SECRETE-JV de {FIRST} {LAST}", files)
    reply = Contact.objects.create(
        ticket=t1,
        viewer=viewer,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        occurred_at=when + timedelta(hours=5),
        subject=f"Re: {t1.subject}",
        body_text=f"Bonjour M. {LAST}, merci pour votre message.",
        meta={"to": EMAIL},
        delivery_error=f"550 {EMAIL} mailbox full",
        author=staff,
    )
    # The reply's outbox message, bounced (the SMTP answer quotes the address), and the
    # request to renew a consent, both through the outbox.
    OutboxMessage.objects.create(
        kind=MessageKind.REPLY,
        state=MessageState.FAILED,
        recipients=[EMAIL],
        reply_to=EMAIL2,
        subject=f"Re: {t1.subject}",
        body_text=f"Bonjour M. {LAST}, COURRIEL-SORTANT-PW",
        body_html=f"<p>Bonjour {FIRST} {LAST}</p>",
        headers={"In-Reply-To": f"<abc.{EMAIL}>", "References": f"<abc.{EMAIL}>"},
        message_id="reply.1234@crm.example.fr",
        contact=reply,
        ticket=t1,
        last_code=550,
        last_answer=f"{EMAIL}: 550 5.1.1 <{EMAIL}> mailbox full",
        failure=FailureKind.RECIPIENT_REFUSED,
    )
    OutboxMessage.objects.create(
        kind=MessageKind.CONSENT_RENEWAL,
        recipients=[EMAIL2],
        subject="Souhaitez-vous garder le contact ?",
        body_text=f"Bonjour {FIRST} {LAST}, COURRIEL-SORTANT-PW",
        message_id="renewal.5678@crm.example.fr",
        cause_type=ContentType.objects.get_for_model(Viewer),
        cause_id=viewer.pk,
    )
    InternalNote.objects.create(
        ticket=t1, author=staff, level=2, body=f"NOTE-SECRETE-HB {LAST} a déjà appelé."
    )
    TicketEvent.objects.create(
        ticket=t1, kind=TicketEventKind.ESCALATED, reason=f"{LAST} menace", data={"who": EMAIL}
    )
    Survey.objects.create(
        ticket=t1,
        level=1,
        topic="programme_info",
        ticket_channel="email",
        sent_at=when + timedelta(days=1),
        answered_at=when + timedelta(days=2),
        score=2,
        comment=f"COMMENTAIRE-SECRET-GN signé {FIRST} {LAST}",
    )

    # A letter with its scan, a phone call, and a closed mediation case.
    t2 = TicketFactory(
        viewer=viewer,
        brand=brand("france2"),
        subject=f"Lettre de {LAST}",
        channel=Channel.LETTER,
        status=Status.CLOSED,
        level=3,
        created_at=when + timedelta(days=1),
    )
    c2 = Contact.objects.create(
        ticket=t2,
        viewer=viewer,
        channel=Channel.LETTER,
        direction=Direction.INBOUND,
        occurred_at=when + timedelta(days=1),
        body_text=f"SCAN-SECRET-FM {FIRST} {LAST}",
    )
    batch = LetterBatch.objects.create(uploaded_by=staff, brand=brand("france2"))
    scan = LetterScan(
        batch=batch,
        original_filename=f"lettre-{LAST}.pdf",
        content_type="application/pdf",
        sha256="1" * 64,
        ocr_text=f"SCAN-SECRET-FM {FIRST} {LAST} {ADDRESS1}",
        proposed={"last_name": LAST, "address": ADDRESS1},
        contact=c2,
        state=LetterScan.State.REGISTERED,
    )
    _file(scan.file, "scan.txt", f"SCAN-SECRET-FM {LAST} {ADDRESS1}", files)
    t3 = TicketFactory(
        viewer=viewer,
        brand=brand("france2"),
        subject="Appel",
        channel=Channel.PHONE,
        status=Status.RESOLVED,
        created_at=when + timedelta(days=2),
    )
    c3 = Contact.objects.create(
        ticket=t3,
        viewer=viewer,
        channel=Channel.PHONE,
        direction=Direction.INBOUND,
        occurred_at=when + timedelta(days=2),
        body_text=f"Appel de {FIRST} {LAST}",
    )
    call = CallRecord.objects.create(
        call_id="call-privacy-1",
        brand=brand("france2"),
        caller_number=PHONE,
        viewer=viewer,
        contact=c3,
        rang_at=when + timedelta(days=2),
        answered_at=when + timedelta(days=2, seconds=30),
        ended_at=when + timedelta(days=2, seconds=330),
        wait_seconds=30,
        handling_seconds=300,
    )
    CallEvent.objects.create(call=call, kind="ring", at=call.rang_at, payload={"from": PHONE})
    case = Case.objects.create(
        reference="MED-2026-9901",
        title=f"Plainte de {LAST}",
        desk="programmes",
        brand=brand("france2"),
        summary=f"{FIRST} {LAST} conteste un reportage.",
        mediator=mediator,
        origin="escalation",
        status=CaseStatus.CLOSED,
        outcome="not_upheld",
        due_on=timezone.localdate(),
        closed_at=timezone.now(),
    )
    CaseTicket.objects.create(case=case, ticket=t2)
    CaseEvent.objects.create(case=case, kind="opened", text=f"Dossier {LAST}")
    ConfidentialNote.objects.create(case=case, author=mediator, body=f"{LAST} est procédurier")
    CommentRequest.objects.create(
        case=case,
        department="Rédaction",
        recipient_name="Rédactrice",
        recipient_email="redaction@france2.fr",
        question=f"Que répondre à {FIRST} {LAST} ?",
        token_nonce="x",
        sent_by=mediator,
        due_on=timezone.localdate(),
        expires_at=timezone.now(),
    )
    opinion = Opinion.objects.create(
        case=case, title="Avis", question="La question", body="Avis du médiateur", author=mediator
    )
    OpinionComment.objects.create(
        opinion=opinion, author_name=f"{FIRST} {LAST}", email=EMAIL, body=f"Bravo — {LAST}"
    )

    quarantined = QuarantineItem(
        source="email",
        source_detail=EMAIL,
        raw_sha256="2" * 64,
        reason_code="too_large",
        reason=f"message trop gros de {EMAIL}",
        meta={"from": EMAIL},
    )
    _file(quarantined.raw_file, "q.eml", f"From: {EMAIL}\n\n{LAST}", files)
    ConsentRenewal.objects.create(viewer=viewer, expires_on=timezone.localdate(), email=EMAIL)
    audit_record(actor=staff, action="contact.raw", obj=c1)
    LogEntry.objects.create(
        user=staff,
        content_type=ContentType.objects.get_for_model(Viewer),
        object_id=str(viewer.pk),
        object_repr=str(viewer),
        action_flag=CHANGE,
        change_message=f"Changed last_name to {LAST}",
    )
    values = [
        FIRST,
        LAST,
        "Zorglubovich",
        ORG,
        ADDRESS1,
        ADDRESS2,
        POSTCODE,
        CITY,
        EMAIL,
        EMAIL2,
        PHONE,
        PHONE_NATIONAL,
        MERGED_LAST,
        MERGED_EMAIL,
        *SECRETS,
    ]
    return Seeded(viewer=viewer, values=values, files=files, tickets=[t1, t2, t3, reply])
