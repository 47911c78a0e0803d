"""The data lifecycle of viewers: the retention policy, legal holds, the requests viewers make
under the GDPR (access, erasure, objection) with their deadlines, the nightly retention runs
and the consent renewals they ask for.

Models hold data and constraints; every change goes through `privacy.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RetentionKind(models.TextChoices):
    VIEWER_DATA = "viewer_data", _("Viewers' personal data")
    CALL_NUMBERS = "call_numbers", _("Callers' numbers in call records")
    QUARANTINE = "quarantine", _("Quarantined inputs")
    AUDIT = "audit", _("Audit log")
    ACCESS_EXPORTS = "access_exports", _("Access exports (download links)")
    PUBLISHED_OPINIONS = "published_opinions", _("Published mediation opinions")


class RetentionRule(models.Model):
    """How long one kind of data is kept (days; empty: kept for ever). Managers edit the days;
    the defaults and their sources are loaded by a data migration (see `privacy.defaults`)."""

    kind = models.CharField(_("data"), max_length=32, choices=RetentionKind.choices, unique=True)
    days = models.PositiveIntegerField(_("kept (days)"), null=True, blank=True)
    # What the period counts from, in words (shown in the register).
    counted_from = models.CharField(_("counted from"), max_length=200)
    source = models.CharField(_("source of the default"), max_length=300)
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("retention rule")
        verbose_name_plural = _("retention rules")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.get_kind_display()


class HoldKind(models.TextChoices):
    LEGAL_HOLD = "legal_hold", _("Legal hold")
    DISPUTE = "dispute", _("Ongoing dispute")


class LegalHold(models.Model):
    """A reason the law gives to keep a viewer's data (a legal hold, an ongoing dispute): while
    one is active, neither an erasure nor the retention run touches the viewer."""

    viewer = models.ForeignKey(
        "contacts.Viewer", on_delete=models.PROTECT, related_name="legal_holds"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=HoldKind.choices)
    reason = models.CharField(_("reason"), max_length=300)
    placed_at = models.DateTimeField(_("placed"), default=timezone.now)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")
        ordering = ["-placed_at", "-id"]
        indexes = [
            # The erasure's and the retention run's "is this viewer held?".
            models.Index(
                fields=["viewer"], name="hold_active_idx", condition=Q(lifted_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id} {self.kind}"


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access (art. 15)")
    ERASURE = "erasure", _("Erasure (art. 17)")
    OBJECTION = "objection", _("Objection, consent withdrawn (art. 21)")


class RequestState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    BUILDING = "building", _("File being prepared")
    READY = "ready", _("File ready")
    DONE = "done", _("Done")
    REFUSED = "refused", _("Refused")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_REQUEST_STATES = frozenset({RequestState.REQUESTED, RequestState.BUILDING, RequestState.READY})


class PrivacyRequest(models.Model):
    """A viewer's request under the GDPR, its deadline and its outcome.

    The deadline is one calendar month from receipt, extendable by two more with a recorded
    reason (GDPR art. 12(3)). An erasure is requested by one person and confirmed by another
    (never the requester); an access request carries the viewer's file once built.
    """

    kind = models.CharField(_("request"), max_length=16, choices=RequestKind.choices)
    viewer = models.ForeignKey(
        "contacts.Viewer", on_delete=models.PROTECT, related_name="privacy_requests"
    )
    ticket = models.ForeignKey(
        "contacts.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="privacy_requests",
        verbose_name=_("request ticket"),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=RequestState.choices, default=RequestState.REQUESTED
    )
    received_on = models.DateField(_("received"))
    due_on = models.DateField(_("answer due"))
    extended_due_on = models.DateField(_("extended to"), null=True, blank=True)
    extension_reason = models.CharField(_("reason for the extension"), max_length=500, blank=True)
    requested_at = models.DateTimeField(_("recorded"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # What was done, or why not (a blocked erasure states its reason here).
    outcome = models.TextField(_("outcome"), blank=True)
    # Access: the viewer's file (ZIP of JSON and original files, and a readable PDF).
    archive = models.FileField(_("archive"), upload_to="privacy/exports/%Y/%m/", blank=True)
    pdf = models.FileField(_("readable file (PDF)"), upload_to="privacy/exports/%Y/%m/", blank=True)
    built_at = models.DateTimeField(_("file built"), null=True, blank=True)
    # A new nonce revokes the download links given so far.
    token_nonce = models.CharField(max_length=32, blank=True, editable=False)
    # Mediators decide whether their confidential notes go into an access file (recorded).
    mediation_notes_released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    mediation_notes_released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("GDPR request")
        verbose_name_plural = _("GDPR requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # Two people for an erasure: its confirmer is never its requester.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=F("requested_by")),
                name="privacy_request_four_eyes",
            ),
        ]
        indexes = [
            # The DPO's list of requests, open first by deadline.
            models.Index(fields=["state", "due_on"], name="privacy_request_due_idx"),
            # The viewer card's requests.
            models.Index(fields=["viewer", "-requested_at"], name="privacy_request_viewer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.viewer_id}"

    @property
    def deadline(self):
        return self.extended_due_on or self.due_on

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_REQUEST_STATES

    @property
    def is_late(self) -> bool:
        return self.is_open and self.deadline < timezone.localdate()


class RetentionRun(models.Model):
    """One run of the retention policy (the nightly task, or a dry run a manager asked for):
    what it found and did, step by step. A run that stopped part-way is resumed by the next
    one (each step keeps its cursor in `progress`)."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    dry_run = models.BooleanField(_("dry run"), default=False)
    state = models.CharField(max_length=8, choices=State.choices, default=State.RUNNING)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # {step: {"found": n, "done": n, "skipped": n, "cursor": id, "finished": bool}}
    progress = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.state}"


class ConsentRenewal(models.Model):
    """The one request to renew their marketing consent a viewer gets before their data
    expires: one per viewer and expiry date, whatever the number of runs."""

    viewer = models.ForeignKey("contacts.Viewer", on_delete=models.CASCADE, related_name="+")
    expires_on = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    email = models.EmailField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["viewer", "expires_on"], name="consent_renewal_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.viewer_id} {self.expires_on}"
