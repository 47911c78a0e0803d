"""Configuration pages of the replies: the response templates (managers; SRT staff use the
templates page, the configuration being for managers), signatures and print batches."""

from django.contrib import admin

from frt_crm.admin import PolicyModelAdmin

from . import services
from .models import PrintBatch, ResponseTemplate, ResponseTemplateVersion, Signature


class VersionInline(admin.TabularInline):
    model = ResponseTemplateVersion
    extra = 0
    can_delete = False
    fields = ("version", "title", "subject", "saved_at", "saved_by")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(PolicyModelAdmin):
    policy_action = "manage_templates"
    list_display = ("title", "topic", "brand", "channel", "version", "is_active", "updated_at")
    list_filter = ("is_active", "topic", "channel", "brand")
    search_fields = ("title", "body")
    fields = ("title", "topic", "brand", "channel", "subject", "body", "is_active")
    inlines = [VersionInline]

    def save_model(self, request, obj, form, change):
        # Through the service: every change is a new version, kept in the history.
        data = services.TemplateData(
            title=obj.title,
            body=obj.body,
            subject=obj.subject,
            topic=obj.topic,
            brand=obj.brand,
            channel=obj.channel,
            is_active=obj.is_active,
        )
        saved = services.template_save(
            by=request.user, data=data, template=ResponseTemplate(pk=obj.pk) if change else None
        )
        obj.pk = saved.pk
        obj.version = saved.version

    def has_delete_permission(self, request, obj=None):
        return False  # retire a template (not in use) instead: replies name their template


@admin.register(Signature)
class SignatureAdmin(PolicyModelAdmin):
    list_display = ("user", "brand")
    list_filter = ("brand",)


@admin.register(PrintBatch)
class PrintBatchAdmin(PolicyModelAdmin):
    policy_action = "print_letters"
    read_only = True
    list_display = ("pk", "created_at", "created_by", "letter_count", "page_count", "posted_at")
