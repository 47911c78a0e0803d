"""The configuration back office (Django admin), open to managers and administrators."""

from django.contrib import admin
from django.db.models import Q
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
    # The lookup from this model to its brand, for models that hold viewers' data: a manager
    # of some brands sees only theirs (and the brandless), as on the staff pages.
    brand_scope_lookup: str = ""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        scope = permissions.brand_scope(request.user) if self.brand_scope_lookup else None
        if scope is None:
            return qs
        lookup = self.brand_scope_lookup
        return qs.filter(
            Q(**{f"{lookup}_id__in": sorted(scope)}) | Q(**{f"{lookup}__isnull": True})
        )

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
