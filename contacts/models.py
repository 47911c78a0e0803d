"""Viewers, brands and programmes, contacts and tickets: the record of what viewers told us.

Models hold data, constraints and small facts. Every change of state goes through
`contacts.services`; every read a screen needs goes through `contacts.selectors`.
Indexes name the screen or task that needs them. Shaped for years of history: 3.5 million
tickets and 10 million contacts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Level


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEB = "web", _("Web form")
    LETTER = "letter", _("Letter")
    PHONE = "phone", _("Phone")


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class Topic(models.TextChoices):
    """The topic codes of the triage policy (DESIGN.md, "Topics, levels and deadlines")."""

    PROGRAMME_INFO = "programme_info", _("Programme information")
    SCHEDULE_PROGRAMMING = "schedule_programming", _("Schedule and programming")
    SPORT = "sport", _("Sport")
    RECEPTION_TECHNICAL = "reception_technical", _("Reception and technical")
    REPLAY_STREAMING = "replay_streaming", _("Replay and streaming")
    WEBSITE_APP = "website_app", _("Websites and apps")
    EDITORIAL_NEWS = "editorial_news", _("Editorial — news")
    EDITORIAL_PROGRAMMES = "editorial_programmes", _("Editorial — programmes")
    LANGUAGE = "language", _("French language")
    ACCESSIBILITY = "accessibility", _("Accessibility")
    REGIONAL = "regional", _("Regional news")
    PRAISE = "praise", _("Praise")
    MEDIA_REQUEST = "media_request", _("Media request")
    PARTICIPATION = "participation", _("Participation")
    PROGRAMME_REQUEST = "programme_request", _("Programme request")
    LICENCE_FEE = "licence_fee", _("Licence fee")
    INSTITUTIONAL = "institutional", _("Institutional")
    MARKETING = "marketing", _("Marketing and personal data")
    SERVICE_RELATIONSHIP = "service_relationship", _("Viewer service")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}


class Status(models.TextChoices):
    NEW = "new", _("New")
    TRIAGED = "triaged", _("Triaged")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_VIEWER = "waiting_viewer", _("Waiting for the viewer")
    WAITING_INTERNAL = "waiting_internal", _("Waiting for a department")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# The one map of allowed status changes; `contacts.services.ticket_change_status` enforces it.
# A new inbound message reopens a resolved ticket (resolved → triaged or in_progress); a
# closed ticket stays closed and the message opens a new one.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.TRIAGED}),
    Status.TRIAGED: frozenset(
        {Status.IN_PROGRESS, Status.WAITING_VIEWER, Status.WAITING_INTERNAL, Status.RESOLVED}
    ),
    Status.IN_PROGRESS: frozenset(
        {Status.TRIAGED, Status.WAITING_VIEWER, Status.WAITING_INTERNAL, Status.RESOLVED}
    ),
    Status.WAITING_VIEWER: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.WAITING_INTERNAL: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.TRIAGED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset(),
}
OPEN_STATUSES = frozenset(
    {
        Status.NEW,
        Status.TRIAGED,
        Status.IN_PROGRESS,
        Status.WAITING_VIEWER,
        Status.WAITING_INTERNAL,
    }
)


class SlaState(models.TextChoices):
    OK = "ok", _("On time")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")


class Outcome(models.TextChoices):
    ANSWERED = "answered", _("Answered")
    INFORMATION_GIVEN = "information_given", _("Information given")
    FORWARDED = "forwarded", _("Forwarded to a department")
    NOTED = "noted", _("Noted (no answer needed)")
    DUPLICATE = "duplicate", _("Duplicate")
    NO_RESPONSE_NEEDED = "no_response_needed", _("No response needed (spam, abuse)")
    MEDIATION = "mediation", _("Closed by the mediation")


# --- brands and programmes ---------------------------------------------------------------------


class Brand(models.Model):
    """A channel of the group: France 2, France 3 and its regional stations, France 5."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=120)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stations",
        verbose_name=_("national brand"),
    )
    email_address = models.EmailField(_("reply address"), blank=True)
    letterhead = models.TextField(_("letterhead address"), blank=True)
    legal_mentions = models.TextField(_("legal mentions"), blank=True)
    colour = models.CharField(_("colour"), max_length=7, default="#1f2a44")
    web_form_enabled = models.BooleanField(_("web form open"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def national(self) -> Brand:
        return self.parent or self


class Genre(models.TextChoices):
    NEWS = "news", _("News")
    MAGAZINE = "magazine", _("Magazine")
    FICTION = "fiction", _("Fiction")
    ENTERTAINMENT = "entertainment", _("Entertainment")
    GAME = "game", _("Game show")
    DOCUMENTARY = "documentary", _("Documentary")
    SPORT = "sport", _("Sport")
    YOUTH = "youth", _("Youth")
    CULTURE = "culture", _("Culture")


class Programme(models.Model):
    brand = models.ForeignKey(
        Brand, on_delete=models.PROTECT, related_name="programmes", verbose_name=_("brand")
    )
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200)
    genre = models.CharField(_("genre"), max_length=16, choices=Genre.choices)
    is_active = models.BooleanField(_("on air"), default=True)

    class Meta:
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "slug"], name="programme_brand_slug_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_news(self) -> bool:
        """News programmes fall to the news mediator, the others to the programmes mediator."""
        return self.genre == Genre.NEWS


# --- viewers -----------------------------------------------------------------------------------


class Civility(models.TextChoices):
    NONE = "", _("—")
    MR = "M.", _("Mr")
    MRS = "Mme", _("Mrs")


class SenderKind(models.TextChoices):
    """What kind of sender a viewer is, when known: some senders change the level."""

    PRIVATE = "private", _("Private person")
    ELECTED = "elected", _("Elected official")
    LAWYER = "lawyer", _("Lawyer")
    PRESS = "press", _("Journalist")
    ORGANISATION = "organisation", _("Association or company")


class Viewer(models.Model):
    civility = models.CharField(
        _("civility"), max_length=4, choices=Civility.choices, blank=True, default=""
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    sender_kind = models.CharField(
        _("kind of sender"), max_length=16, choices=SenderKind.choices, default=SenderKind.PRIVATE
    )
    address_line1 = models.CharField(_("address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address (continued)"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=16, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, default="FR")
    language = models.CharField(_("language"), max_length=8, default="fr")
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_viewers",
        verbose_name=_("merged into"),
    )
    is_anonymised = models.BooleanField(_("anonymised"), default=False)
    # Lower-case, accent-free names, emails, phones and postcode, maintained by the services:
    # the viewer search matches on it (trigram index on PostgreSQL, LIKE on SQLite).
    search_text = models.TextField(editable=False, blank=True, default="")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("viewer")
        verbose_name_plural = _("viewers")
        indexes = [
            # Find-or-create of the intake: name + postcode.
            models.Index(fields=["last_name", "postcode"], name="viewer_name_postcode_idx"),
            models.Index(fields=["postcode"], name="viewer_postcode_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.civility, self.first_name, self.last_name) if p)
        return name or self.organisation or _("Unknown viewer")


class ViewerEmail(models.Model):
    viewer = models.ForeignKey(Viewer, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(_("email"), max_length=254)  # stored lower-cased
    is_primary = models.BooleanField(_("primary"), default=False)
    is_failing = models.BooleanField(_("failing"), default=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    failure_reason = models.CharField(_("failure reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("viewer email")
        verbose_name_plural = _("viewer emails")
        constraints = [
            models.UniqueConstraint(fields=["viewer", "email"], name="viewer_email_unique"),
        ]
        indexes = [
            # The intake's find-or-create by email, and the viewer search.
            models.Index(fields=["email"], name="viewer_email_idx"),
        ]

    def __str__(self) -> str:
        return self.email


class ViewerPhone(models.Model):
    viewer = models.ForeignKey(Viewer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("number (E.164)"), max_length=20)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("viewer phone")
        verbose_name_plural = _("viewer phones")
        constraints = [
            models.UniqueConstraint(fields=["viewer", "number"], name="viewer_phone_unique"),
        ]
        indexes = [
            # The telephony screen pop: caller number → viewers.
            models.Index(fields=["number"], name="viewer_phone_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class ConsentKind(models.TextChoices):
    MARKETING = "marketing", _("Relationship marketing (invitations, events)")
    NEWSLETTER = "newsletter", _("Newsletter")
    SURVEY = "survey", _("Satisfaction surveys")


class ViewerConsent(models.Model):
    """One statement of consent, granted or withdrawn, with when and where: the history is kept,
    the latest statement of each kind is in force."""

    viewer = models.ForeignKey(Viewer, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("consent"), max_length=16, choices=ConsentKind.choices)
    granted = models.BooleanField(_("granted"))
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)
    source = models.CharField(_("source"), max_length=100)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        indexes = [
            # The consent in force (latest per kind) on the viewer card and marketing lists.
            models.Index(fields=["viewer", "kind", "-recorded_at"], name="consent_current_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id} {self.kind} {self.granted}"


class ViewerDuplicate(models.Model):
    """A possible duplicate found by the intake: staff decide, nothing is merged silently."""

    class State(models.TextChoices):
        OPEN = "open", _("To review")
        MERGED = "merged", _("Merged")
        DISMISSED = "dismissed", _("Not a duplicate")

    viewer = models.ForeignKey(Viewer, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Viewer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    detected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        constraints = [
            models.UniqueConstraint(fields=["viewer", "other"], name="viewer_duplicate_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id} ~ {self.other_id}"


# --- tickets -----------------------------------------------------------------------------------


class TicketReferenceCounter(models.Model):
    """The last number given per year, for references such as FTV-2026-000123."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Ticket(models.Model):
    """A viewer's request, from its first contact to its resolution."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    programme = models.ForeignKey(
        Programme, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    viewer = models.ForeignKey(
        Viewer, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    topic = models.CharField(_("topic"), max_length=32, choices=Topic.choices, blank=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, default=1)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default="new")
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
    )
    tags = models.JSONField(_("tags"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)

    # Triage: the decision as taken, so it can be explained years later.
    triaged_at = models.DateTimeField(null=True, blank=True)
    triage_explanation = models.TextField(_("triage explanation"), blank=True)
    triage_decision = models.JSONField(default=dict, blank=True)
    triage_policy_version = models.CharField(max_length=32, blank=True)

    # SLA: due dates on the business calendar; the clock pauses while waiting for the viewer.
    first_response_due_at = models.DateTimeField(_("first answer due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first answered"), null=True, blank=True)
    # The first answer given at the ticket's current level: an escalation or a send-back
    # starts a new first-answer (acknowledgement) clock, while `first_responded_at` keeps the
    # very first answer to the viewer (reporting's first-response time).
    level_first_responded_at = models.DateTimeField(
        _("first answered at this level"), null=True, blank=True
    )
    sla_state = models.CharField(
        _("SLA"), max_length=8, choices=SlaState.choices, default=SlaState.OK
    )
    sla_paused_at = models.DateTimeField(null=True, blank=True)

    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_tickets"
    )
    # Bumped by every service that changes the ticket: a form posted against an older version
    # is refused instead of silently overwriting a colleague's work.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            # Team queues: open tickets of a team by due date (and "take next").
            models.Index(
                fields=["team", "resolution_due_at", "id"],
                name="ticket_queue_idx",
                condition=Q(
                    status__in=[
                        "new",
                        "triaged",
                        "in_progress",
                        "waiting_viewer",
                        "waiting_internal",
                    ]
                ),
            ),
            # Queues filtered by level and brand (agents' level-1 queue of their brands).
            models.Index(
                fields=["level", "brand", "resolution_due_at"],
                name="ticket_level_brand_idx",
                condition=Q(
                    status__in=[
                        "new",
                        "triaged",
                        "in_progress",
                        "waiting_viewer",
                        "waiting_internal",
                    ]
                ),
            ),
            # "My tickets" of an agent.
            models.Index(fields=["assignee", "status"], name="ticket_assignee_idx"),
            # The viewer card's history.
            models.Index(fields=["viewer", "-created_at"], name="ticket_viewer_idx"),
            # The stalled-triage sweep: tickets left `new`.
            models.Index(fields=["created_at"], name="ticket_new_idx", condition=Q(status="new")),
            # The API list and rollups by period.
            models.Index(fields=["created_at", "id"], name="ticket_created_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketEventKind(models.TextChoices):
    CREATED = "created", _("Created")
    TRIAGED = "triaged", _("Triaged")
    STATUS = "status", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    ESCALATED = "escalated", _("Escalated")
    SENT_BACK = "sent_back", _("Sent back")
    REROUTED = "rerouted", _("Re-routed")
    MERGED = "merged", _("Merged")
    REOPENED = "reopened", _("Reopened")
    SLA = "sla", _("SLA")
    REPLIED = "replied", _("Replied")


class TicketEvent(models.Model):
    """The ticket's history: each change, by whom, and why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=TicketEventKind.choices)
    from_value = models.CharField(max_length=64, blank=True)
    to_value = models.CharField(max_length=64, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["at", "id"]
        indexes = [
            # The ticket page's history.
            models.Index(fields=["ticket", "at"], name="ticket_event_ticket_idx"),
            # Escalation, send-back and override rates on the dashboards.
            models.Index(fields=["kind", "at"], name="ticket_event_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.from_value}→{self.to_value}"


class InternalNote(models.Model):
    """A note between staff, never shown to the viewer. Its level is the writer's: level-2
    notes are never shown to level-1 agents."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(choices=Level.choices)
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="note_ticket_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} note {self.pk}"


# --- contacts ----------------------------------------------------------------------------------


class DeliveryStatus(models.TextChoices):
    NONE = "", _("—")
    PENDING = "pending", _("To send")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")
    TO_PRINT = "to_print", _("To print")
    PRINTED = "printed", _("Printed")
    POSTED = "posted", _("Posted")


class Contact(models.Model):
    """One interaction with a viewer, inbound or outbound, on any channel."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="contacts")
    viewer = models.ForeignKey(
        Viewer, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    occurred_at = models.DateTimeField(_("date"), default=timezone.now)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(_("text"), blank=True)
    body_html = models.TextField(_("HTML (sanitised)"), blank=True)
    # The raw input as received (MIME bytes, scan, JSON payload), stored before anything else.
    raw_file = models.FileField(_("raw input"), upload_to="raw/%Y/%m/%d/", blank=True)
    raw_sha256 = models.CharField(max_length=64, blank=True)
    sender_address = models.CharField(_("from"), max_length=254, blank=True)
    message_id = models.CharField(max_length=255, null=True, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.TextField(blank=True)
    external_source = models.CharField(max_length=64, blank=True)
    external_id = models.CharField(max_length=128, null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="authored_contacts",
    )
    delivery_status = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryStatus.choices, blank=True, default=""
    )
    delivery_error = models.TextField(blank=True)
    # Channel-specific details (call outcome, OCR confidence, form fields…).
    meta = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["occurred_at", "id"]
        constraints = [
            # The same email twice creates nothing (duplicate delivery, IMAP re-fetch).
            models.UniqueConstraint(
                fields=["message_id"],
                condition=Q(message_id__isnull=False),
                name="contact_message_id_unique",
            ),
            # The integrations API is idempotent on (source, external_id).
            models.UniqueConstraint(
                fields=["external_source", "external_id"],
                condition=Q(external_id__isnull=False),
                name="contact_external_id_unique",
            ),
        ]
        indexes = [
            # The ticket page's thread.
            models.Index(fields=["ticket", "occurred_at"], name="contact_ticket_idx"),
            # The viewer card's history across tickets.
            models.Index(fields=["viewer", "-occurred_at"], name="contact_viewer_idx"),
            # Rollups of contacts per day and channel.
            models.Index(fields=["occurred_at", "channel"], name="contact_occurred_idx"),
            # The mailroom's print batch and the mail sender's retries.
            models.Index(
                fields=["delivery_status", "occurred_at"],
                name="contact_delivery_idx",
                condition=~Q(delivery_status=""),
            ),
            # The intake's flood check: recent messages from one address.
            models.Index(fields=["sender_address", "created_at"], name="contact_sender_idx"),
        ]

    def __str__(self) -> str:
        when = f"{self.occurred_at:%Y-%m-%d}"
        return f"{self.get_channel_display()} {self.get_direction_display()} {when}"


class Attachment(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/%d/")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, blank=True)
    is_inline = models.BooleanField(default=False)
    content_id = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


# --- phone calls -------------------------------------------------------------------------------


class CallRecord(models.Model):
    """A phone call as the telephony platform reported it: waiting and handling times feed the
    service level and the call-centre cost model."""

    call_id = models.CharField(_("call id"), max_length=128, unique=True)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT)
    caller_number = models.CharField(_("caller"), max_length=20, blank=True)
    called_line = models.CharField(_("line called"), max_length=32, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    viewer = models.ForeignKey(Viewer, null=True, blank=True, on_delete=models.SET_NULL)
    contact = models.OneToOneField(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="call"
    )
    rang_at = models.DateTimeField(_("rang"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    wait_seconds = models.PositiveIntegerField(_("waiting time (s)"), null=True, blank=True)
    handling_seconds = models.PositiveIntegerField(_("handling time (s)"), null=True, blank=True)
    abandoned = models.BooleanField(_("abandoned"), default=False)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        indexes = [
            # Calls per half-hour for the service level and the Erlang C staffing.
            models.Index(fields=["rang_at"], name="call_rang_idx"),
        ]

    def __str__(self) -> str:
        return self.call_id


class CallEvent(models.Model):
    """Each telephony event as received (ring, answer, hang-up), kept as it came."""

    call = models.ForeignKey(CallRecord, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16)
    at = models.DateTimeField()
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["call", "kind"], name="call_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.call_id} {self.kind}"


# --- intake: quarantine, mailboxes, integrations, phone lines, letters -------------------------


class QuarantineSource(models.TextChoices):
    EMAIL = "email", _("Email file (ingest_email)")
    IMAP = "imap", _("Mailbox (IMAP)")
    GATEWAY = "gateway", _("Mail gateway")
    WEB = "web", _("Web form")
    API = "api", _("Integrations API")
    LETTER = "letter", _("Mailroom")


class QuarantineItem(models.Model):
    """An input the intake could not (or would not) turn into a contact, kept with its raw bytes.

    `held` items wait for a manager (unparseable, too large, flood); `ignored` ones were set
    aside on purpose (auto-replies and loops with no ticket to join, robots caught by the
    honeypot) and are listed apart. Nothing is ever deleted: discarding only changes the state.
    """

    class State(models.TextChoices):
        HELD = "held", _("Held")
        IGNORED = "ignored", _("Set aside")
        RELEASED = "released", _("Released (contact created)")
        DISCARDED = "discarded", _("Discarded")

    source = models.CharField(_("source"), max_length=16, choices=QuarantineSource.choices)
    source_detail = models.CharField(_("from"), max_length=255, blank=True)
    raw_file = models.FileField(_("raw input"), upload_to="quarantine/%Y/%m/%d/")
    raw_sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"), default=0)
    content_type = models.CharField(max_length=127, blank=True)
    reason_code = models.CharField(_("reason code"), max_length=32)
    reason = models.TextField(_("reason"))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.HELD)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    last_attempt_at = models.DateTimeField(_("last attempt"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("quarantined input")
        verbose_name_plural = _("quarantined inputs")
        ordering = ["-received_at", "-id"]
        constraints = [
            # The same bytes from the same source are one item (IMAP re-fetches, CLI re-runs).
            models.UniqueConstraint(
                fields=["source", "raw_sha256"], name="quarantine_source_sha_unique"
            ),
        ]
        indexes = [
            # The quarantine page: items of a state, newest first.
            models.Index(fields=["state", "-received_at"], name="quarantine_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.reason_code} {self.received_at:%Y-%m-%d}"


class Mailbox(models.Model):
    """A brand's inbound mailbox, polled over IMAP by Celery beat."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="mailboxes")
    name = models.CharField(_("name"), max_length=100)
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"), default=993)
    use_tls = models.BooleanField(_("TLS (IMAPS)"), default=True)
    username = models.CharField(_("user"), max_length=255)
    # IMAP needs the password itself; keep the database and its backups access-controlled.
    password = models.CharField(_("password"), max_length=255)
    folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    processed_folder = models.CharField(_("processed folder"), max_length=255, default="Traites")
    is_active = models.BooleanField(_("active"), default=True)
    # A lease rather than a lock held across network calls: two workers never poll the same
    # mailbox at once, and a crashed worker's lease simply expires.
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["brand__order", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.username}@{self.host})"


class IntegrationClient(models.Model):
    """A system allowed to push inputs: a partner site, the telephony platform, a mail gateway.

    Only a SHA-256 of its token is stored (tokens are long random strings, so a plain hash is
    enough); the token is shown once, when created. Its code is the `external_source` of the
    contacts it sends, so idempotency on `external_id` is per client.
    """

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(_("token starts with"), max_length=8, editable=False)
    brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("default brand"),
    )
    may_post_contacts = models.BooleanField(_("may post contacts"), default=False)
    may_post_calls = models.BooleanField(_("may post telephony events"), default=False)
    may_post_mail = models.BooleanField(_("may post raw mail (gateway)"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("integration client")
        verbose_name_plural = _("integration clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # DRF treats `request.user` as authenticated through these two attributes.
    is_authenticated = True
    is_anonymous = False


class PhoneLine(models.Model):
    """A number viewers call; the telephony events name it, and it tells the brand."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="phone_lines")
    label = models.CharField(_("label"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("phone line")
        verbose_name_plural = _("phone lines")

    def __str__(self) -> str:
        return f"{self.number} → {self.brand}"


class LetterBatch(models.Model):
    """One upload of the mailroom: a letter, or a day's batch of scans to split."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.PROTECT)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")

    def __str__(self) -> str:
        return f"{self.uploaded_at:%Y-%m-%d %H:%M} {self.uploaded_by}"


class LetterScan(models.Model):
    """The scan of one postal letter, from upload through OCR to its registration."""

    class State(models.TextChoices):
        PENDING = "pending", _("OCR running")
        READY = "ready", _("To check")
        # Tesseract was unavailable: the OCR sweep (or the mailroom's Retry) reads it once it
        # is back; the mailroom may also key the letter in by hand meanwhile.
        NO_OCR = "no_ocr", _("Waiting for OCR")
        OCR_FAILED = "ocr_failed", _("To check (OCR failed)")
        REGISTERED = "registered", _("Registered")

    batch = models.ForeignKey(LetterBatch, on_delete=models.PROTECT, related_name="scans")
    file = models.FileField(_("scan"), upload_to="scans/%Y/%m/%d/")
    original_filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    pages = models.PositiveIntegerField(_("pages"), default=1)
    preview = models.FileField(upload_to="scans/previews/%Y/%m/%d/", blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    ocr_text = models.TextField(_("OCR text"), blank=True)
    ocr_confidence = models.FloatField(_("OCR confidence"), null=True, blank=True)
    ocr_note = models.TextField(_("OCR note"), blank=True)
    ocr_at = models.DateTimeField(null=True, blank=True)
    # When its OCR was last asked for (upload, Retry, sweep): a scan still `pending` long
    # after lost its task message, and the OCR sweep asks again.
    ocr_queued_at = models.DateTimeField(null=True, blank=True)
    # The sender's identity and address the OCR proposes, for the mailroom to check.
    proposed = models.JSONField(default=dict, blank=True)
    contact = models.OneToOneField(
        Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="letter_scan"
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("letter scan")
        verbose_name_plural = _("letter scans")
        ordering = ["batch__uploaded_at", "id"]
        indexes = [
            # The mailroom's list of letters still to register.
            models.Index(fields=["state", "batch"], name="letter_scan_state_idx"),
        ]

    def __str__(self) -> str:
        return self.original_filename
