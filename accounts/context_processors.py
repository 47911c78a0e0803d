"""The navigation of the base layout, driven by what the user may do."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from . import permissions

# (url name, label, global action that shows it). Entries whose page does not exist yet
# (a later feature) are left out rather than linking to a 404.
NAVIGATION = [
    ("routing:queue", _("Queue"), "view_queue"),
    ("contacts:call_log", _("Log a call"), "log_call"),
    ("contacts:viewer_search", _("Viewers"), "search_viewers"),
    ("contacts:mailroom", _("Mailroom"), "register_letters"),
    ("replies:print_queue", _("Letters to print"), "print_letters"),
    ("mediation:desk", _("Mediation desk"), "mediation_desk"),
    ("mediation:overview", _("Mediation"), "mediation_overview"),
    ("reporting:dashboard", _("Dashboards"), "view_dashboards"),
    ("contacts:quarantine", _("Quarantine"), "view_quarantine"),
    ("outbox:index", _("Outbox"), "manage_outbox"),
    ("demo:mail", _("Mail sent (demonstration)"), "manage_outbox"),
    ("replies:template_list", _("Response templates"), "manage_templates"),
    ("admin:index", _("Configuration"), "use_admin"),
    ("accounts:grant_list", _("Role grants"), "review_role_grants"),
    ("accounts:lockouts", _("Sign-in lock-outs"), "manage_users"),
    # None: every signed-in member of staff.
    ("accounts:security", _("My security"), None),
]


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    items = []
    for url_name, label, action in NAVIGATION:
        if action is not None and not permissions.can(user, action):
            continue
        if url_name == "demo:mail" and not settings.DEMO_MAIL_CATCHER:
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"url": url, "label": label, "active": request.path.startswith(url)})
    return {"nav_items": items, "user_role": permissions.role_of(user)}
