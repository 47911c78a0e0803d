"""Level 3: mediation case files, confidential notes, requests for comment, opinions.

Models hold data, constraints and small facts. Every change goes through `mediation.services`;
every read a screen needs goes through `mediation.selectors` (which audits reads of case files
and notes). Indexes name the screen or task that needs them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Desk(models.TextChoices):
    """The two mediators' offices: news, and programmes (everything that is not news)."""

    NEWS = "news", _("News")
    PROGRAMMES = "programmes", _("Programmes")


# The team whose mediators take the cases of each desk (reference data, accounts migration).
DESK_TEAM = {Desk.NEWS: "mediator-news", Desk.PROGRAMMES: "mediator-programmes"}


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CaseOutcome(models.TextChoices):
    NONE = "", _("—")
    UPHELD = "upheld", _("Upheld")
    PARTLY_UPHELD = "partly_upheld", _("Partly upheld")
    NOT_UPHELD = "not_upheld", _("Not upheld")
    OUTSIDE_REMIT = "outside_remit", _("Outside remit")


class CaseOrigin(models.TextChoices):
    ESCALATION = "escalation", _("Escalated ticket")
    MEDIATOR = "mediator", _("Opened by a mediator")


class CaseReferenceCounter(models.Model):
    """The last case number given per year, for references such as MED-2026-0042."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Case(models.Model):
    """A mediation case file: one broadcast or subject, one or many tickets, one outcome."""

    reference = models.CharField(_("reference"), max_length=20, unique=True)
    title = models.CharField(_("title"), max_length=300)
    desk = models.CharField(_("desk"), max_length=16, choices=Desk.choices)
    brand = models.ForeignKey(
        "contacts.Brand",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mediation_cases",
        verbose_name=_("brand"),
    )
    programme = models.ForeignKey(
        "contacts.Programme",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mediation_cases",
        verbose_name=_("programme"),
    )
    air_date = models.DateField(_("air date"), null=True, blank=True)
    topic = models.CharField(_("topic"), max_length=32, blank=True)
    summary = models.TextField(_("summary of the complaint"), blank=True)
    mediator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="mediation_cases",
        verbose_name=_("mediator in charge"),
    )
    origin = models.CharField(_("origin"), max_length=16, choices=CaseOrigin.choices)
    status = models.CharField(
        _("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    outcome = models.CharField(
        _("outcome"), max_length=16, choices=CaseOutcome.choices, blank=True, default=""
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_on = models.DateField(_("deadline"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    tickets = models.ManyToManyField(
        "contacts.Ticket", through="CaseTicket", related_name="mediation_cases"
    )

    class Meta:
        verbose_name = _("mediation case")
        verbose_name_plural = _("mediation cases")
        ordering = ["-opened_at", "-id"]
        constraints = [
            # A case closes only with an outcome.
            models.CheckConstraint(
                condition=Q(status="open") | ~Q(outcome=""),
                name="case_closed_has_outcome",
            ),
        ]
        indexes = [
            # The desk: open cases by deadline.
            models.Index(
                fields=["due_on", "id"], name="case_open_due_idx", condition=Q(status="open")
            ),
            # The yearly figures.
            models.Index(fields=["opened_at"], name="case_opened_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == CaseStatus.OPEN

    @property
    def topic_label(self) -> str:
        from contacts.models import Topic

        return str(dict(Topic.choices).get(self.topic, self.topic))


class CaseTicket(models.Model):
    """A ticket gathered into a case (a controversial report can bring hundreds)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="links")
    ticket = models.ForeignKey(
        "contacts.Ticket", on_delete=models.PROTECT, related_name="mediation_links"
    )
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("ticket of a case")
        verbose_name_plural = _("tickets of a case")
        constraints = [
            models.UniqueConstraint(fields=["case", "ticket"], name="case_ticket_unique"),
        ]
        indexes = [
            # "Is this ticket already in an open case?" at escalation and on the ticket page.
            models.Index(fields=["ticket"], name="case_ticket_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} ∋ {self.ticket_id}"


class EvidenceKind(models.TextChoices):
    TIMECODE = "timecode", _("Time code")
    LINK = "link", _("Link")
    FILE = "file", _("File")


class Evidence(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(_("kind"), max_length=10, choices=EvidenceKind.choices)
    label = models.CharField(_("description"), max_length=300)
    timecode = models.CharField(_("time code"), max_length=12, blank=True)
    url = models.URLField(_("link"), max_length=1000, blank=True)
    file = models.FileField(_("file"), upload_to="mediation/%Y/%m/", blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["timecode", "added_at", "id"]

    def __str__(self) -> str:
        return self.label


class CaseEventKind(models.TextChoices):
    OPENED = "opened", _("Case opened")
    TICKETS = "tickets", _("Tickets added")
    ASSIGNED = "assigned", _("Mediator changed")
    EVIDENCE = "evidence", _("Evidence added")
    NOTE = "note", _("Confidential note")
    RFC_SENT = "rfc_sent", _("Request for comment sent")
    RFC_ANSWERED = "rfc_answered", _("Comment received")
    RFC_REMINDED = "rfc_reminded", _("Reminder sent")
    OPINION = "opinion", _("Opinion")
    REPLIED = "replied", _("Viewers answered")
    CLOSED = "closed", _("Case closed")
    REOPENED = "reopened", _("Case reopened")


class CaseEvent(models.Model):
    """The case's timeline: what happened, by whom, when (never the notes' text)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=CaseEventKind.choices)
    text = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_event_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class ConfidentialNote(models.Model):
    """A mediator's note: read and written by mediators only; every read is audited."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("confidential note")
        verbose_name_plural = _("confidential notes")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="med_note_case_idx")]

    def __str__(self) -> str:
        return f"{self.case_id} note {self.pk}"


class CommentRequestStatus(models.TextChoices):
    SENT = "sent", _("Waiting")
    ANSWERED = "answered", _("Answered")
    CANCELLED = "cancelled", _("Cancelled")


class CommentRequest(models.Model):
    """A request for comment to a department, answered through a one-time link.

    The link carries a token signed with the SECRET_KEY (django.core.signing) naming this
    request, its case and `token_nonce`: a copy of the database alone cannot forge one, the
    reminder can repeat the same link, and a new nonce revokes the old link.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comment_requests")
    department = models.CharField(_("department"), max_length=200)
    recipient_name = models.CharField(_("recipient"), max_length=200)
    recipient_email = models.EmailField(_("recipient's email"))
    question = models.TextField(_("question"))
    token_nonce = models.CharField(max_length=32, editable=False)
    status = models.CharField(
        max_length=10, choices=CommentRequestStatus.choices, default=CommentRequestStatus.SENT
    )
    sent_at = models.DateTimeField(default=timezone.now)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField(_("answer expected by"))
    expires_at = models.DateTimeField(_("link expires"))
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    answered_by_name = models.CharField(_("answered by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("request for comment")
        verbose_name_plural = _("requests for comment")
        ordering = ["due_on", "id"]
        indexes = [
            # The desk's waiting requests and the reminder task.
            models.Index(
                fields=["due_on", "id"], name="rfc_waiting_idx", condition=Q(status="sent")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.department} ({self.case_id})"

    @property
    def is_late(self) -> bool:
        return self.status == CommentRequestStatus.SENT and self.due_on < timezone.localdate()


class OpinionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")


class Opinion(models.Model):
    """The mediator's opinion (avis) on a case: drafted, reviewed by someone else, published.

    The public text is written for publication: the question with viewers' identities removed
    (the mediator writes it; the tool checks it for the viewers' names and addresses).
    """

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="opinion")
    title = models.CharField(_("title"), max_length=300)
    question = models.TextField(_("the viewers' question"))
    department_answer = models.TextField(_("the department's answer"), blank=True)
    body = models.TextField(_("the mediator's opinion"))
    status = models.CharField(
        max_length=10, choices=OpinionStatus.choices, default=OpinionStatus.DRAFT
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(_("reviewer's comment"), blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # Brand of the public page (the case's national brand, fixed at publication).
    brand = models.ForeignKey(
        "contacts.Brand", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    slug = models.SlugField(max_length=120, blank=True)
    # Lower-case, accent-free text of the public fields, for the public search.
    search_text = models.TextField(editable=False, blank=True, default="")

    class Meta:
        verbose_name = _("opinion")
        verbose_name_plural = _("opinions")
        indexes = [
            # The public list per brand, newest first, and its feed.
            models.Index(
                fields=["brand", "-published_at"],
                name="opinion_public_idx",
                condition=Q(status="published"),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == OpinionStatus.PUBLISHED


class OpinionReply(models.Model):
    """The answer sent to one ticket's viewer from an opinion: one per ticket, never two."""

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="replies")
    ticket = models.ForeignKey("contacts.Ticket", on_delete=models.PROTECT, related_name="+")
    contact = models.OneToOneField("contacts.Contact", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["opinion", "ticket"], name="opinion_reply_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.opinion_id} → {self.ticket_id}"


class CommentStatus(models.TextChoices):
    UNCONFIRMED = "unconfirmed", _("Email not confirmed")
    PENDING = "pending", _("To moderate")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class OpinionComment(models.Model):
    """A viewer's comment on a published opinion: email-checked, then pre-moderated.

    The confirmation link carries a signed token naming the comment (django.core.signing,
    with an age limit); it works once, since confirming moves the comment on from
    `unconfirmed`.
    """

    opinion = models.ForeignKey(Opinion, on_delete=models.CASCADE, related_name="comments")
    author_name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("email"))
    body = models.TextField(_("comment"))
    status = models.CharField(
        max_length=12, choices=CommentStatus.choices, default=CommentStatus.UNCONFIRMED
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejection_reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("comment")
        verbose_name_plural = _("comments")
        ordering = ["created_at", "id"]
        indexes = [
            # The moderation queue and the public page's approved comments.
            models.Index(fields=["status", "created_at"], name="comment_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.author_name} on {self.opinion_id}"
