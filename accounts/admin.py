"""Staff accounts and teams in the configuration back office.

Accounts are for administrators only (`manage_users`). Role, brand scope and the active flag
go through `accounts.services.user_access_change` (checks, four eyes, audit, email); there is
no password form (an administrator sends a reset link) and no superuser, staff, group or
permission field. Team memberships go through `team_membership_save/delete`.
"""

import contextlib

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.exceptions import NotRegistered
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from frt_crm.admin import PolicyModelAdmin

from . import second_factor, services
from .models import AuditEvent, Role, RoleGrantRequest, Team, TeamMembership, User

# django-otp's own admin pages would let anyone with model permissions read or plant a
# second-factor secret: devices are managed by their owner ("Ma sécurité") and reset by an
# administrator through the action below.
for _model in ("otp_totp.TOTPDevice", "otp_static.StaticDevice"):
    with contextlib.suppress(NotRegistered):
        admin.site.unregister(apps.get_model(_model))


class StaffUserForm(forms.ModelForm):
    """The admin form of a staff account; the requesting administrator is `by`."""

    by: User | None = None

    class Meta:
        model = User
        fields = [
            "username",
            "first_name",
            "last_name",
            "email",
            "role",
            "brands",
            "all_brands",
            "signature",
            "phone_extension",
            "is_active",
        ]

    def clean(self):
        data = super().clean()
        if self.by is not None and "role" in data:
            errors = services.user_access_errors(
                by=self.by,
                user=self.instance if self.instance.pk else None,
                role=data["role"],
                brand_ids=[b.pk for b in data.get("brands") or []],
                all_brands=data.get("all_brands", False),
            )
            for error in errors:
                self.add_error(None, error)
        return data


@admin.register(User)
class UserAdmin(PolicyModelAdmin):
    policy_action = "manage_users"
    form = StaffUserForm
    list_display = ["username", "first_name", "last_name", "role", "all_brands", "is_active"]
    list_filter = ["role", "is_active", "all_brands", "brands"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    filter_horizontal = ["brands"]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["send_password_reset", "unlock_signin", "reset_second_factor"]
    fieldsets = (
        (None, {"fields": ("username",)}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (
            _("Role and scope"),
            {
                "fields": ("role", "brands", "all_brands", "signature", "phone_extension"),
                "description": _(
                    "The mediator and administrator roles take effect only once approved by "
                    "a second person (a serving mediator, or another administrator)."
                ),
            },
        ),
        (_("Status"), {"fields": ("is_active", "last_login", "date_joined")}),
    )

    def has_delete_permission(self, request, obj=None):
        # The audit log refers to people: close an account (active unticked), never delete it.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"by": request.user})

    def save_model(self, request, obj, form, change):
        # Only identity fields are saved here; role, scope and the active flag go through the
        # service in save_related, once the object exists.
        if change:
            old = User.objects.get(pk=obj.pk)
            obj.role, obj.all_brands, obj.is_active = old.role, old.all_brands, old.is_active
            obj.is_staff, obj.is_superuser = old.is_staff, old.is_superuser
        else:
            obj.role, obj.all_brands, obj.is_active = Role.AGENT, False, True
            obj.is_staff = obj.is_superuser = False
            obj.set_unusable_password()
        obj.save()
        if not change:
            services.audit_record(
                actor=request.user, action="user.created", obj=obj, request=request
            )

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        data = form.cleaned_data
        grant = services.user_access_change(
            user=form.instance,
            by=request.user,
            role=data["role"],
            brand_ids=[b.pk for b in data.get("brands") or []],
            all_brands=data.get("all_brands", False),
            is_active=data.get("is_active") if change else None,
            request=request,
        )
        if grant is not None:
            messages.warning(
                request,
                _("The role “%(role)s” awaits the approval of a second person.")
                % {"role": grant.get_role_display()},
            )
        if not change and form.instance.email:
            services.user_password_reset_send(user=form.instance, by=request.user, request=request)
            messages.info(request, _("A link to choose a password was emailed to the new user."))

    @admin.action(description=_("Email a link to choose a new password"))
    def send_password_reset(self, request, queryset):
        sent = 0
        for user in queryset:
            if user.email:
                services.user_password_reset_send(user=user, by=request.user, request=request)
                sent += 1
        self.message_user(
            request,
            ngettext("%(n)d link sent.", "%(n)d links sent.", sent) % {"n": sent},
        )

    @admin.action(description=_("Unlock sign-in"))
    def unlock_signin(self, request, queryset):
        for user in queryset:
            services.user_signin_unlock(user=user, by=request.user, request=request)
        self.message_user(request, _("Sign-in unlocked."))

    @admin.action(description=_("Reset two-factor authentication"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            second_factor.second_factor_reset(user=user, by=request.user, request=request)
        self.message_user(
            request, _("Two-factor authentication reset: they set it up again at next sign-in.")
        )


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    # A plain list, not an autocomplete: the staff list is administrators' only, and managers
    # compose teams.


@admin.register(Team)
class TeamAdmin(PolicyModelAdmin):
    policy_action = "manage_teams"
    list_display = ["name", "code", "level", "is_external", "is_active"]
    list_filter = ["level", "is_external", "is_active"]
    filter_horizontal = ["brands"]
    inlines = [MembershipInline]
    prepopulated_fields = {"code": ["name"]}

    def save_formset(self, request, form, formset, change):
        if formset.model is not TeamMembership:
            return super().save_formset(request, form, formset, change)
        # Each membership added, changed or removed is audited and announced to its member.
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.team_membership_delete(membership=membership, by=request.user, request=request)
        for membership in memberships:
            services.team_membership_save(membership=membership, by=request.user, request=request)
        return None


@admin.register(RoleGrantRequest)
class RoleGrantRequestAdmin(PolicyModelAdmin):
    """Read-only history; decisions are taken on /accounts/grants/ by the right person."""

    policy_action = "manage_users"
    read_only = True
    list_display = ["user", "role", "status", "requested_by", "requested_at", "decided_by"]
    list_filter = ["status", "role"]
    list_select_related = ["user", "requested_by", "decided_by"]


@admin.register(AuditEvent)
class AuditEventAdmin(PolicyModelAdmin):
    policy_action = "view_audit"
    read_only = True
    list_display = ["at", "actor", "action", "object_type", "object_id", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "actor__username"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
