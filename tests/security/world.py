"""The objects the permission matrix opens, built once per test: one of each kind of thing a
route can name, with secrets planted in them so that a page showing what it must not is caught.

Personas (one per role, `ROLES`): the agent works France 2 and France 3, the SRT officer and the
manager France 2 only, the mediator and the administrator every brand. The France 5 ticket is
"another brand's" for all of them but the mediator and the administrator.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from unittest import mock

from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.authtoken.models import Token

from accounts.models import AuditEvent, Role, RoleGrantRequest, Team, TeamMembership, User
from contacts.models import (
    Attachment,
    Brand,
    Channel,
    Contact,
    DeliveryStatus,
    Direction,
    IntegrationClient,
    InternalNote,
    LetterBatch,
    LetterScan,
    Mailbox,
    PhoneLine,
    Programme,
    Status,
)
from contacts.services.quarantine import quarantine_put
from contacts.services.viewers import viewer_merge
from mediation.models import (
    CommentRequest,
    CommentStatus,
    Evidence,
    Opinion,
    OpinionComment,
    OpinionStatus,
)
from mediation.services import case_open_from_escalation, confidential_note_add
from mediation.services.comment_requests import comment_request_token
from mediation.services.opinions import comment_confirmation_token
from outbox.models import MessageKind, MessageState, OutboxMessage
from privacy.models import (
    LegalHold,
    PrivacyRequest,
    RequestKind,
    RequestState,
    RetentionRule,
    RetentionRun,
)
from privacy.services.access import access_token
from privacy.services.consent import unsubscribe_token
from replies.models import PrintBatch, ResponseTemplate, Signature
from reporting.models import CostRate, RollupState
from routing.models import PolicyVersion, SlaPolicy, TriageClassifier
from routing.services import workflow
from satisfaction.models import Survey
from satisfaction.services import survey_token
from tests.factories import ContactFactory, TicketFactory, UserFactory, ViewerFactory, brand

ROLES = ("anonymous", "agent", "mailroom", "srt", "mediator", "manager", "admin")

# Planted text, and the roles whose pages may show it. Every text answer of every request of
# the matrix is searched for every secret a role may not see.
SECRETS: dict[str, frozenset[str]] = {
    # A mediator's confidential note: mediators only, administrators and managers included not.
    "NOTE-CONFIDENTIELLE-MEDIATEUR": frozenset({"mediator"}),
    # A level-2 internal note on a level-1 ticket: never the call centre, nor the mailroom.
    "NOTE-INTERNE-NIVEAU-2": frozenset({"srt", "mediator", "manager", "admin"}),
    # A viewer's message on a ticket that went straight to the mediators: the SRT never had it.
    "MESSAGE-DIRECT-MEDIATEUR": frozenset({"mediator", "manager", "admin"}),
    # Another brand's (France 5) ticket, and letter.
    "MESSAGE-FRANCE-5": frozenset({"mediator", "admin"}),
    # A mediator's internal note on the ticket the SRT escalated: the SRT follows the ticket,
    # not the level-3 work on it.
    "NOTE-INTERNE-NIVEAU-3": frozenset({"mediator", "manager", "admin"}),
    # An opinion in draft: the mediators and its reviewers (managers), never the public.
    "AVIS-EN-BROUILLON": frozenset({"mediator", "manager"}),
    # A viewer's comment waiting for moderation.
    "COMMENTAIRE-EN-ATTENTE": frozenset({"mediator"}),
    # The raw bytes of a quarantined input.
    "QUARANTAINE-BRUTE": frozenset({"manager", "admin"}),
    # A mailbox's IMAP password: written once, shown to nobody.
    "MOT-DE-PASSE-IMAP": frozenset(),
    # The body of a message in the outbox (a reply to another brand's viewer): the outbox
    # page lists messages, it never shows what they say.
    "CORPS-SORTANT-FRANCE-5": frozenset(),
    # The letter of a reply box's preview, kept for its author's frame only.
    "APERCU-LETTRE-SRT": frozenset({"srt"}),
    # An email's sanitised HTML, for those who may read its ticket (the level-2 one).
    "HTML-NIVEAU-2": frozenset({"srt", "mediator", "manager", "admin"}),
}


@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, object] = field(default_factory=dict)


def _persona(role: str) -> User:
    spec = {
        "agent": dict(role=Role.AGENT, brands=["france2", "france3"], team="n1-call-centre"),
        "mailroom": dict(role=Role.MAILROOM, brands=["france2", "france3"], team=None),
        "srt": dict(role=Role.SRT, brands=["france2"], team="srt-france2"),
        "mediator": dict(role=Role.MEDIATOR, all_brands=True, team="mediator-programmes"),
        "manager": dict(role=Role.MANAGER, brands=["france2"], team=None),
        "admin": dict(role=Role.ADMIN, all_brands=True, team=None),
    }[role]
    team = spec.pop("team")
    user = UserFactory(username=f"matrix-{role}", **spec)
    if team:
        TeamMembership.objects.get_or_create(team=Team.objects.get(code=team), user=user)
    return user


def _ticket(level: int, brand_code: str, team: str, body: str, viewer, subject: str = ""):
    """A triaged ticket of `viewer` with one inbound email; secrets go in subject and body."""
    ticket = TicketFactory(
        level=level,
        brand=brand(brand_code),
        team=Team.objects.get(code=team),
        viewer=viewer,
        subject=subject or body[:60],
        status=Status.TRIAGED,
        resolution_due_at=timezone.now() + timedelta(days=10),
    )
    ContactFactory(ticket=ticket, body_text=body, message_id=f"m-{ticket.pk}@example.fr")
    return ticket


def build_world() -> World:
    users = {role: _persona(role) for role in ROLES if role != "anonymous"}
    w = World(users=users)
    ids = w.ids
    srt, mediator, mailroom = users["srt"], users["mediator"], users["mailroom"]

    # Tickets, all of one viewer (their card gathers them): level 1 and 2 of France 2, France
    # 5's, one that went straight to the mediators, one the SRT escalated to them.
    viewer = ViewerFactory(last_name="Lefebvre")
    t1 = _ticket(1, "france2", "n1-call-centre", "Quand rediffusez-vous le documentaire ?", viewer)
    InternalNote.objects.create(ticket=t1, author=srt, level=1, body="Rappelée le matin.")
    InternalNote.objects.create(ticket=t1, author=srt, level=2, body="NOTE-INTERNE-NIVEAU-2")
    t2 = _ticket(2, "france2", "srt-france2", "Le sous-titrage manquait hier soir.", viewer)
    other = _ticket(1, "france5", "n1-call-centre", "MESSAGE-FRANCE-5 : horaires", viewer)
    t3 = _ticket(3, "france2", "mediator-programmes", "MESSAGE-DIRECT-MEDIATEUR : saisine", viewer)
    case = case_open_from_escalation(ticket=t3, by=None, reason="Saisine directe")
    confidential_note_add(case=case, author=mediator, body="NOTE-CONFIDENTIELLE-MEDIATEUR")
    escalated = _ticket(2, "france2", "srt-france2", "Je conteste la réponse du service.", viewer)
    escalated = workflow.ticket_escalate(ticket=escalated, by=srt, reason="Appel du téléspectateur")
    case2 = case_open_from_escalation(ticket=escalated, by=srt, reason="")
    InternalNote.objects.create(
        ticket=escalated, author=mediator, level=3, body="NOTE-INTERNE-NIVEAU-3"
    )
    # Another brand's case file (France 5), gathered from its level-3 ticket.
    other3 = _ticket(3, "france5", "mediator-programmes", "MESSAGE-FRANCE-5 : saisine", viewer)
    ids["case5"] = case_open_from_escalation(ticket=other3, by=None, reason="").pk
    ids.update(t1=t1.pk, t2=t2.pk, other=other.pk, t3=t3.pk, t3srt=escalated.pk)
    # Tickets of France 2 that the matrix moves between levels (one per move route, so that a
    # move that succeeds changes nothing another row relies on).
    for name in ("esc", "esc_json", "esc_queue"):
        ids[name] = _ticket(1, "france2", "n1-call-centre", "À transmettre", viewer).pk
    for name in ("back", "back_json", "back_queue", "reroute", "reroute_json", "reroute_queue"):
        ids[name] = _ticket(2, "france2", "srt-france2", "À renvoyer", viewer).pk
    ids.update(case=case.pk, case2=case2.pk, case_ref=case.reference)

    # Files: an attachment, a raw email, the case's evidence (media in a temporary folder).
    contact = t1.contacts.first()
    contact.raw_file.save("raw.eml", ContentFile(b"Subject: test\r\n\r\nBonjour"), save=True)
    attachment = Attachment(contact=contact, filename="photo.png", content_type="image/png", size=4)
    attachment.file.save("photo.png", ContentFile(b"\x89PNG"), save=True)
    evidence = Evidence(case=case, kind="file", label="Extrait", added_by=mediator)
    evidence.file.save("extrait.txt", ContentFile(b"extrait"), save=True)
    ids.update(contact=contact.pk, attachment=attachment.pk, evidence=evidence.pk)
    # The same kinds of file on the level-2 ticket and on the one that went to the mediators.
    contact2 = t2.contacts.first()
    contact2.raw_file.save("raw2.eml", ContentFile(b"Subject: test\r\n\r\nBonjour"), save=True)
    attachment3 = Attachment(
        contact=t3.contacts.first(), filename="capture.png", content_type="image/png", size=4
    )
    attachment3.file.save("capture.png", ContentFile(b"\x89PNG"), save=True)
    ids.update(contact2=contact2.pk, attachment3=attachment3.pk)

    # Mediation: a request for comment, a draft opinion, a published opinion with a comment.
    request = CommentRequest.objects.create(
        case=case,
        department="Rédaction",
        recipient_name="Chef d'édition",
        recipient_email="redaction@example.fr",
        question="Pourquoi ce choix ?",
        token_nonce="n" * 32,
        sent_by=mediator,
        due_on=timezone.localdate() + timedelta(days=10),
        expires_at=timezone.now() + timedelta(days=30),
    )
    Opinion.objects.create(
        case=case, title="Avis en cours", question="Q", body="AVIS-EN-BROUILLON", author=mediator
    )
    published = Opinion.objects.create(
        case=case2,
        title="Avis publié",
        question="Q",
        body="Texte de l'avis",
        author=mediator,
        status=OpinionStatus.PUBLISHED,
        published_at=timezone.now(),
        brand=brand("france2"),
        slug="avis-publie",
    )
    comment = OpinionComment.objects.create(
        opinion=published,
        author_name="Paul",
        email="paul@example.fr",
        body="COMMENTAIRE-EN-ATTENTE",
        status=CommentStatus.PENDING,
        confirmed_at=timezone.now(),
    )
    ids.update(request=request.pk, opinion=published.pk, comment=comment.pk)
    ids["answer_token"] = comment_request_token(request=request)
    unconfirmed = OpinionComment.objects.create(
        opinion=published, author_name="Léa", email="lea@example.fr", body="Bravo"
    )
    ids["confirm_token"] = comment_confirmation_token(comment=unconfirmed)

    # Viewers: the viewer and an address of theirs; a merge that can be undone.
    ids.update(viewer=viewer.pk, viewer_email=viewer.emails.first().pk)
    duplicate = ViewerFactory(last_name="Doublon")
    target = ViewerFactory(last_name="Cible")
    ids["merge"] = viewer_merge(source=duplicate, target=target, by=users["admin"]).pk
    ids["others_email"] = target.emails.first().pk

    # The mailroom: a letter scan, a quarantined input; replies: a letter to print, a batch.
    letters = LetterBatch.objects.create(uploaded_by=mailroom, brand=brand("france2"))
    scan = LetterScan(batch=letters, original_filename="lettre.pdf", content_type="application/pdf")
    scan.sha256 = "0" * 64
    scan.file.save("lettre.pdf", ContentFile(b"%PDF-1.4"), save=True)
    # Another brand's letter: its text must reach nobody outside France 5.
    letters5 = LetterBatch.objects.create(uploaded_by=users["admin"], brand=brand("france5"))
    scan5 = LetterScan(
        batch=letters5,
        original_filename="courrier.pdf",
        content_type="application/pdf",
        sha256="5" * 64,
        ocr_text="MESSAGE-FRANCE-5 : courrier manuscrit",
    )
    scan5.file.save("courrier.pdf", ContentFile(b"%PDF-1.4"), save=True)
    item, _created = quarantine_put(
        source="email", reason_code="unreadable", reason="Illisible", data=b"QUARANTAINE-BRUTE"
    )
    item5, _created = quarantine_put(
        source="email",
        reason_code="unreadable",
        reason="Illisible",
        data=b"MESSAGE-FRANCE-5 en quarantaine",
        source_detail="MESSAGE-FRANCE-5 <telespectateur@example.fr>",
        brand=brand("france5"),
    )
    failed = Contact.objects.create(
        ticket=t1,
        viewer=viewer,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        subject="Réponse",
        body_text="Bonjour",
        delivery_status=DeliveryStatus.FAILED,
        occurred_at=timezone.now(),
    )
    batch = PrintBatch.objects.create(created_by=mailroom, letter_count=0)
    batch.pdf.save("lettres.pdf", ContentFile(b"%PDF-1.4"), save=True)
    template = ResponseTemplate.objects.create(title="Rediffusion", body="Bonjour {{ civilite }}")
    ids.update(scan=scan.pk, scan5=scan5.pk, quarantine=item.pk, failed_reply=failed.pk)
    ids.update(batch=batch.pk, quarantine5=item5.pk)
    template5 = ResponseTemplate.objects.create(
        title="France 5", body="Bonjour", brand=brand("france5")
    )
    failed2 = Contact.objects.create(
        ticket=t2,
        viewer=viewer,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        subject="Réponse",
        body_text="Bonjour",
        delivery_status=DeliveryStatus.FAILED,
        occurred_at=timezone.now(),
    )
    ids.update(template=template.pk, template5=template5.pk, failed_reply2=failed2.pk)

    # Satisfaction: a survey's signed link.
    survey = Survey.objects.create(ticket=t1, level=1, ticket_channel="email")
    ids["survey_token"] = survey_token(survey=survey)

    # Configuration (the admin): one object of every registered model.
    ids.update(
        user=users["agent"].pk,
        group=Group.objects.create(name="Lecture").pk,
        token=Token.objects.create(user=users["manager"]).pk,
        team=Team.objects.get(code="srt-france2").pk,
        audit=AuditEvent.objects.order_by("pk").first().pk,
        brand=Brand.objects.get(code="france2").pk,
        brand5=Brand.objects.get(code="france5").pk,
        programme=Programme.objects.order_by("pk").first().pk,
        mailbox=Mailbox.objects.create(
            brand=brand("france2"),
            name="Boîte",
            host="imap.example.fr",
            username="u",
            password="MOT-DE-PASSE-IMAP",
        ).pk,
        phoneline=PhoneLine.objects.create(number="+33100000000", brand=brand("france2")).pk,
        client=IntegrationClient.objects.create(
            code="telephonie", name="Téléphonie", token_hash="h" * 64, token_prefix="abcd"
        ).pk,
        policy=PolicyVersion.objects.order_by("pk").first().pk,
        classifier=TriageClassifier.objects.create(source="test", examples=1, model=b"").pk,
        sla=SlaPolicy.objects.order_by("pk").first().pk,
        signature=Signature.objects.create(user=srt, brand=brand("france2"), text="Claire").pk,
        costrate=CostRate.objects.create(
            valid_from=timezone.localdate(), hourly_rate=30, price_per_call=3
        ).pk,
        rollup=RollupState.objects.get_or_create(name="matrix")[0].pk,
        contenttype=_content_type_of_brand(),
    )
    _accounts(w)
    _privacy(w)
    _outbox_and_frames(w, t1=t1, t2=t2, other=other)
    return w


def _accounts(w: World) -> None:
    """Role grants waiting for a second person, a password-reset link."""
    users, ids = w.users, w.ids
    other_admin = UserFactory(username="matrix-admin-2", role=Role.ADMIN, all_brands=True)
    # Asked by the administrator for the call-centre agent: a mediator decides (neither asked
    # by them nor about them); the administrator who asked may not.
    ids["grant_mediator"] = RoleGrantRequest.objects.create(
        user=users["agent"], role=Role.MEDIATOR, requested_by=users["admin"]
    ).pk
    # Asked by another administrator: the matrix's administrator decides.
    ids["grant_admin"] = RoleGrantRequest.objects.create(
        user=users["mailroom"], role=Role.ADMIN, requested_by=other_admin
    ).pk
    # Someone who is not signed in (signing in invalidates the link).
    forgetful = UserFactory(username="matrix-forgetful", role=Role.AGENT, brands=["france2"])
    ids["reset_uid"] = urlsafe_base64_encode(force_bytes(forgetful.pk))
    ids["reset_token"] = default_token_generator.make_token(forgetful)


def _privacy_viewer(brand_code: str, last_name: str, body: str):
    viewer = ViewerFactory(last_name=last_name)
    _ticket(1, brand_code, "n1-call-centre", body, viewer)
    return viewer


def _privacy(w: World) -> None:
    """GDPR requests of a France 2 viewer (and a France 5 one), a hold, a retention run, the
    signed links the viewer receives."""
    users, ids = w.users, w.ids
    today = timezone.localdate()
    viewer = _privacy_viewer("france2", "Moreau", "Je demande mes données.")
    viewer5 = _privacy_viewer("france5", "Girard", "MESSAGE-FRANCE-5 : mes données")

    def request(kind, who, by, **extra):
        return PrivacyRequest.objects.create(
            kind=kind,
            viewer=who,
            received_on=today,
            due_on=today + timedelta(days=30),
            requested_by=by,
            **extra,
        )

    # An access request whose file is ready, and its download link.
    access = request(RequestKind.ACCESS, viewer, users["srt"], token_nonce="a" * 32)
    access.archive.save("dossier.zip", ContentFile(b"PK"), save=False)
    access.pdf.save("dossier.pdf", ContentFile(b"%PDF-1.4"), save=False)
    access.state, access.built_at = RequestState.READY, timezone.now()
    access.save()
    ids["download_token"] = access_token(privacy_request=access, which="zip")
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 400 * 86400):
        ids["expired_token"] = access_token(privacy_request=access, which="pdf")
    revoked = request(RequestKind.ACCESS, viewer5, users["admin"], token_nonce="b" * 32)
    revoked.archive.save("ancien.zip", ContentFile(b"PK"), save=True)
    ids["revoked_token"] = access_token(privacy_request=revoked, which="zip")
    revoked.token_nonce = "c" * 32  # built again: the old link is revoked
    revoked.save()
    # An erasure asked by the administrator: another manager or administrator confirms it.
    erasure = request(RequestKind.ERASURE, viewer, users["admin"])
    # One more of each for the moves that end a request (extend, close, cancel).
    ids.update(
        pviewer=viewer.pk,
        pviewer5=viewer5.pk,
        access=access.pk,
        erasure=erasure.pk,
        access5=revoked.pk,
        hold=LegalHold.objects.create(
            viewer=viewer, kind="dispute", reason="Litige", placed_by=users["manager"]
        ).pk,
        rule=RetentionRule.objects.order_by("pk").first().pk,
        run=RetentionRun.objects.create(dry_run=True, started_by=users["manager"]).pk,
        unsubscribe_token=unsubscribe_token(viewer=viewer, purpose="all"),
    )


def _outbox_and_frames(w: World, *, t1, t2, other) -> None:
    """A failed reply in the outbox, an email's HTML, a reply box's letter preview."""
    users, ids = w.users, w.ids
    # A reply to France 5's viewer that failed: its subject is the viewer's.
    ids["outbox"] = OutboxMessage.objects.create(
        kind=MessageKind.REPLY,
        state=MessageState.FAILED,
        from_email="france5@example.fr",
        recipients=["telespectateur5@example.fr"],
        subject=f"Re: {other.subject}",
        body_text="CORPS-SORTANT-FRANCE-5",
        message_id="outbox-matrix@example.fr",
        ticket=other,
    ).pk
    contact2 = t2.contacts.first()
    contact2.body_html = "<p>HTML-NIVEAU-2</p>"
    contact2.save(update_fields=["body_html"])
    token = "apercu-matrice"
    cache.set(
        f"letter-preview:{token}",
        {"user": users["srt"].pk, "ticket": t1.pk, "html": "APERCU-LETTRE-SRT"},
        30 * 60,
    )
    ids["preview_token"] = token


def _content_type_of_brand() -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(Brand).pk
