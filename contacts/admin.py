from django.contrib import admin

from frt_crm.admin import PolicyModelAdmin

from .models import Brand, Programme


@admin.register(Brand)
class BrandAdmin(PolicyModelAdmin):
    policy_action = "manage_reference_data"
    list_display = ["name", "code", "parent", "email_address", "web_form_enabled", "is_active"]
    list_filter = ["parent", "is_active"]
    search_fields = ["name", "code"]


@admin.register(Programme)
class ProgrammeAdmin(PolicyModelAdmin):
    policy_action = "manage_reference_data"
    list_display = ["name", "brand", "genre", "is_active"]
    list_filter = ["brand", "genre", "is_active"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
