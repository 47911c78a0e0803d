"""Staff users, their roles and brand scope, teams, and the append-only audit log."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("Call-centre agent (level 1)")
    MAILROOM = "mailroom", _("Mailroom")
    SRT = "srt", _("Viewer-relations officer (level 2)")
    MEDIATOR = "mediator", _("Mediator (level 3)")
    MANAGER = "manager", _("Manager")
    ADMIN = "admin", _("Administrator")


class Level(models.IntegerChoices):
    ONE = 1, _("Level 1 — call centre")
    TWO = 2, _("Level 2 — viewer relations")
    THREE = 3, _("Level 3 — mediation")


class User(AbstractUser):
    """A member of staff. Viewers are not users: they have no account."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    # The brands whose requests this user may see. A national brand covers its regional
    # stations (France 3 covers France 3 Bretagne…). `all_brands` is for group-wide staff
    # (mediators, heads of viewer relations) so that a new brand needs no re-scoping.
    brands = models.ManyToManyField(
        "contacts.Brand", blank=True, related_name="staff", verbose_name=_("brands")
    )
    all_brands = models.BooleanField(_("all brands"), default=False)
    signature = models.TextField(_("signature"), blank=True)
    phone_extension = models.CharField(_("phone extension"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_external(self) -> bool:
        """Agents work for the external call centre (a contractor)."""
        return self.role == Role.AGENT


class Team(models.Model):
    """A team and its queue: the call centre, each brand's SRT, each mediator's office."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    brands = models.ManyToManyField(
        "contacts.Brand", blank=True, related_name="teams", verbose_name=_("brands served")
    )
    is_external = models.BooleanField(
        _("external"), default=False, help_text=_("Staffed by the external call centre.")
    )
    members = models.ManyToManyField(
        User, through="TeamMembership", related_name="teams", verbose_name=_("members")
    )
    # Opening hours, for SLA clocks counted in working hours.
    opens_at = models.TimeField(_("opens at"), default="09:00")
    closes_at = models.TimeField(_("closes at"), default="18:00")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    is_lead = models.BooleanField(_("team lead"), default=False)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ∈ {self.team}"


class AuditQuerySet(models.QuerySet):
    # The audit log is append-only: bulk updates and deletes are refused at the ORM level,
    # and by a trigger on PostgreSQL (see migration 0003).
    def update(self, **kwargs):
        raise PermissionError("the audit log is append-only")

    def delete(self):
        raise PermissionError("the audit log is append-only")


class AuditEvent(models.Model):
    """Who did or read what, on which object, when. Written by `accounts.services.audit_record`."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=255, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            # The audit trail of one object (ticket page, mediation case's read log).
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
            # What one member of staff did (manager's audit screen).
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        target = f"{self.object_type}:{self.object_id}"
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {target}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("the audit log is append-only")


class RoleGrantRequest(models.Model):
    """A grant of the mediator or administrator role, waiting for a second person's approval.

    Four eyes: an administrator asks, a serving mediator (for the mediator role) or a second
    administrator (for the administrator role) approves or rejects; never the person who asked
    nor the person concerned. Written by `accounts.services.role_grant_*`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Granted")
        REJECTED = "rejected", _("Refused")

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="role_grants", verbose_name=_("staff user")
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    requested_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="role_grants_requested",
        verbose_name=_("requested by"),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="role_grants_decided",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("role grant request")
        verbose_name_plural = _("role grant requests")
        ordering = ["-requested_at", "-id"]
        constraints = [
            # One open request per person: a second would race the first's approval.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="pending"),
                name="role_grant_one_pending_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.get_role_display()}"
