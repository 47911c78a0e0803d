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


# --- intake ------------------------------------------------------------------------------------

from django import forms  # noqa: E402
from django.contrib import messages  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

from .models import IntegrationClient, LetterScan, Mailbox, PhoneLine, QuarantineItem  # noqa: E402
from .services.integrations import integration_client_create, integration_client_rotate  # noqa: E402


class MailboxForm(forms.ModelForm):
    """The IMAP password is written, never shown back (the page would put it in clear in its
    HTML): left blank when editing, the current one stays."""

    password = forms.CharField(
        label=Mailbox._meta.get_field("password").verbose_name,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave blank to keep the current password."),
    )

    class Meta:
        model = Mailbox
        fields = [
            "brand",
            "name",
            "host",
            "port",
            "use_tls",
            "username",
            "password",
            "folder",
            "processed_folder",
            "is_active",
        ]

    def clean_password(self):
        password = self.cleaned_data.get("password", "")
        if password:
            return password
        if self.instance.pk and self.instance.password:
            return self.instance.password
        raise forms.ValidationError(_("Enter the mailbox's password."))


@admin.register(Mailbox)
class MailboxAdmin(PolicyModelAdmin):
    policy_action = "manage_reference_data"
    form = MailboxForm
    list_display = [
        "name",
        "brand",
        "host",
        "port",
        "username",
        "folder",
        "is_active",
        "last_polled_at",
        "last_error",
    ]
    list_filter = ["brand", "is_active"]
    readonly_fields = ["last_polled_at", "last_error"]


@admin.register(PhoneLine)
class PhoneLineAdmin(PolicyModelAdmin):
    policy_action = "manage_reference_data"
    list_display = ["number", "brand", "label"]
    list_filter = ["brand"]
    search_fields = ["number", "label"]


@admin.register(IntegrationClient)
class IntegrationClientAdmin(PolicyModelAdmin):
    """Integration clients; the token is generated here and shown once, never stored."""

    policy_action = "manage_reference_data"
    list_display = [
        "name",
        "code",
        "token_prefix",
        "brand",
        "may_post_contacts",
        "may_post_calls",
        "may_post_mail",
        "is_active",
        "last_used_at",
    ]
    list_filter = ["is_active", "may_post_contacts", "may_post_calls", "may_post_mail"]
    readonly_fields = ["token_prefix", "created_at", "last_used_at"]
    fields = [
        "code",
        "name",
        "brand",
        "may_post_contacts",
        "may_post_calls",
        "may_post_mail",
        "is_active",
        "token_prefix",
        "created_at",
        "last_used_at",
    ]
    actions = ["rotate_token"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        client, token = integration_client_create(
            code=obj.code,
            name=obj.name,
            brand=obj.brand,
            may_post_contacts=obj.may_post_contacts,
            may_post_calls=obj.may_post_calls,
            may_post_mail=obj.may_post_mail,
        )
        obj.pk = client.pk
        obj.token_hash, obj.token_prefix = client.token_hash, client.token_prefix
        messages.warning(
            request,
            _("Token of %(name)s (shown once, copy it now): %(token)s")
            % {"name": client.name, "token": token},
        )

    @admin.action(description=_("Give a new token (the old one stops working)"))
    def rotate_token(self, request, queryset):
        for client in queryset:
            token = integration_client_rotate(client=client)
            messages.warning(
                request,
                _("New token of %(name)s (shown once): %(token)s")
                % {"name": client.name, "token": token},
            )


@admin.register(QuarantineItem)
class QuarantineItemAdmin(PolicyModelAdmin):
    """Read-only: retry and discard happen on the quarantine page, through the services."""

    policy_action = "view_quarantine"
    brand_scope_lookup = "brand"
    read_only = True
    list_display = ["received_at", "source", "reason_code", "state", "size", "attempts"]
    list_filter = ["state", "source", "reason_code"]
    search_fields = ["reason", "source_detail", "raw_sha256"]


@admin.register(LetterScan)
class LetterScanAdmin(PolicyModelAdmin):
    policy_action = "manage_reference_data"
    read_only = True
    brand_scope_lookup = "batch__brand"
    list_display = ["original_filename", "state", "pages", "ocr_confidence", "registered_at"]
    list_filter = ["state"]
