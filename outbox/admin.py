from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: messages change state only through `outbox.services` (the /outbox/ page
    retries them)."""

    list_display = ("created_at", "kind", "state", "subject", "attempts", "next_attempt_at")
    list_filter = ("state", "kind")
    search_fields = ("message_id", "subject")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
