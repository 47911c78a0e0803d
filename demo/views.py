"""The caught mail page: what the product sent to the demonstration's SMTP catcher."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts import permissions

from . import mailcatcher

PAGE_LIMIT = 100


@login_required
@require_GET
def caught_mail(request: HttpRequest) -> HttpResponse:
    # Who may read the outbox may read what it sent; the page exists only in the demonstration.
    permissions.require(request.user, "manage_outbox")
    if not settings.DEMO_MAIL_CATCHER:
        raise Http404
    return render(
        request,
        "demo/mail.html",
        {"messages_caught": mailcatcher.read_messages(settings.DEMO_MAIL_DIR, PAGE_LIMIT)},
    )
