from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from frt_crm.admin import PolicyModelAdmin

from .models import AuditEvent, Team, TeamMembership, User


@admin.register(User)
class UserAdmin(PolicyModelAdmin, DjangoUserAdmin):
    policy_action = "manage_users"
    list_display = ["username", "first_name", "last_name", "role", "all_brands", "is_active"]
    list_filter = ["role", "is_active", "all_brands", "brands"]
    filter_horizontal = ["brands"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:2],
        (_("Role and scope"), {"fields": ("role", "brands", "all_brands", "signature")}),
        (_("Status"), {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"fields": ("username", "password1", "password2", "role")}),)


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(PolicyModelAdmin):
    policy_action = "manage_teams"
    list_display = ["name", "code", "level", "is_external", "is_active"]
    list_filter = ["level", "is_external", "is_active"]
    filter_horizontal = ["brands"]
    inlines = [MembershipInline]
    prepopulated_fields = {"code": ["name"]}


@admin.register(AuditEvent)
class AuditEventAdmin(PolicyModelAdmin):
    policy_action = "view_audit"
    read_only = True
    list_display = ["at", "actor", "action", "object_type", "object_id", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "object_repr", "actor__username"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
