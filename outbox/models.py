"""The outbox: one row for every message the product sends, written in the transaction of the
action that causes it, delivered by the `outbox.tasks.deliver_message` task, found again by
the sweep. Its state is what the pages show: nothing is "sent" before the SMTP server
accepted it.

States (the allowed moves are `TRANSITIONS`):

    queued ──claim──▶ sending ──250──▶ sent ──bounce──▶ bounced
      ▲                 │ 4xx, no answer
      │                 ├──────────────▶ deferred ──due (sweep)──▶ queued
      │                 │ 5xx, or the last attempt
      │                 └──────────────▶ failed ──retry──▶ queued
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MessageKind(models.TextChoices):
    REPLY = "reply", _("Reply to a viewer")
    ACKNOWLEDGEMENT = "ack", _("Acknowledgement of a web form")
    SURVEY = "survey", _("Satisfaction survey")
    COMMENT_REQUEST = "rfc", _("Request for comment")
    COMMENT_REMINDER = "rfc_reminder", _("Reminder of a request for comment")
    COMMENT_CONFIRMATION = "comment_confirm", _("Confirmation of a comment")
    SLA_ALERT = "sla_alert", _("SLA alert to team leads")
    ACCOUNT = "account", _("Staff access notice")
    CONSENT_RENEWAL = "consent_renewal", _("Request to renew a consent")


class MessageState(models.TextChoices):
    QUEUED = "queued", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    DEFERRED = "deferred", _("Deferred")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


TRANSITIONS: dict[str, frozenset[str]] = {
    MessageState.QUEUED: frozenset({MessageState.SENDING}),
    MessageState.SENDING: frozenset(
        {MessageState.SENT, MessageState.DEFERRED, MessageState.FAILED}
    ),
    MessageState.DEFERRED: frozenset({MessageState.QUEUED, MessageState.FAILED}),
    MessageState.SENT: frozenset({MessageState.BOUNCED}),
    MessageState.FAILED: frozenset({MessageState.QUEUED}),
    MessageState.BOUNCED: frozenset({MessageState.QUEUED}),
}
# Waiting for the SMTP server: pages say "waiting", never "sent".
PENDING_STATES = (MessageState.QUEUED, MessageState.SENDING, MessageState.DEFERRED)
# Nothing more will happen without a person (retry) or a bounce.
FINAL_FAILURES = (MessageState.FAILED, MessageState.BOUNCED)


class FailureKind(models.TextChoices):
    """Why the last attempt did not succeed, in words for staff (the raw answer is kept in
    `last_answer` for administrators, never shown in the pages)."""

    NONE = "", _("—")
    UNREACHABLE = "unreachable", _("The mail server could not be reached.")
    TIMEOUT = "timeout", _("The mail server did not answer in time.")
    TEMPORARY = "temporary", _("The mail server asked to try again later.")
    RECIPIENT_REFUSED = "recipient", _("The recipient's address was refused.")
    REJECTED = "rejected", _("The mail server refused the message.")
    NO_RECIPIENT = "no_recipient", _("There is no address to send it to.")
    BOUNCED = "bounced", _("The recipient's mail server sent it back (bounce).")
    INTERRUPTED = "interrupted", _("The sending was interrupted; it will be tried again.")
    ERROR = "error", _("Unexpected error while sending.")


class OutboxMessage(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    state = models.CharField(
        _("state"), max_length=10, choices=MessageState.choices, default=MessageState.QUEUED
    )
    from_email = models.CharField(_("sender"), max_length=320)
    recipients = models.JSONField(_("recipients"), default=list)
    reply_to = models.CharField(_("reply to"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=300)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    # Extra headers (In-Reply-To, References, Auto-Submitted, X-FRT-Ticket…).
    headers = models.JSONField(default=dict, blank=True)
    # Bare (no angle brackets), generated once when the row is written: every attempt sends
    # the same one, so a receiver can drop a duplicate and a bounce finds its row.
    message_id = models.CharField(max_length=255, unique=True)
    # What caused it: the outbound contact of a reply or acknowledgement (its thread entry),
    # the ticket, and for the others the object itself (survey, request for comment, comment).
    contact = models.OneToOneField(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox",
    )
    ticket = models.ForeignKey(
        "contacts.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="outbox_messages",
    )
    cause_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cause_id = models.PositiveBigIntegerField(null=True, blank=True)
    cause = GenericForeignKey("cause_type", "cause_id")
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_code = models.PositiveSmallIntegerField(_("SMTP code"), null=True, blank=True)
    last_answer = models.TextField(_("server's answer"), blank=True)
    failure = models.CharField(
        _("reason"), max_length=16, choices=FailureKind.choices, blank=True, default=""
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    bounced_at = models.DateTimeField(_("bounced"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep: due deferred rows, queued rows whose task was lost, stuck `sending`.
            models.Index(
                fields=["state", "next_attempt_at"],
                name="outbox_due_idx",
                condition=Q(state__in=["queued", "sending", "deferred"]),
            ),
            # The managers' page: newest first, by state and kind.
            models.Index(fields=["state", "-created_at"], name="outbox_state_idx"),
            # Mediation pages and the ticket page: the messages of one request / survey.
            models.Index(fields=["cause_type", "cause_id"], name="outbox_cause_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {', '.join(self.recipients)} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def is_final_failure(self) -> bool:
        return self.state in FINAL_FAILURES

    @property
    def reason(self) -> str:
        """The last failure in words for staff, with the SMTP code when there was one."""
        if not self.failure:
            return ""
        text = str(FailureKind(self.failure).label)
        if self.last_code and self.last_code >= 400:
            text = _("%(reason)s (code %(code)s)") % {"reason": text, "code": self.last_code}
        return text
