"""The configuration back office (Django admin), open to managers and administrators."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts import permissions


class CrmAdminSite(admin.AdminSite):
    site_header = _("Viewer relations — configuration")
    site_title = _("Configuration")
    index_title = _("Configuration")

    def has_permission(self, request):
        # Access follows the product's policy, not Django's is_staff flag and model permissions.
        return permissions.can(request.user, "use_admin")


class PolicyModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rights come from one global action of `accounts.permissions`."""

    policy_action = "use_admin"
    read_only = False

    def _allowed(self, request) -> bool:
        return permissions.can(request.user, self.policy_action)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request):
        return self._allowed(request) and not self.read_only

    def has_change_permission(self, request, obj=None):
        return self._allowed(request) and not self.read_only

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request) and not self.read_only
