"""The managers' outbox page: messages deferred, failed or bounced (and recent ones), why,
and a retry of one or of a selection."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts import permissions

from . import selectors, services
from .models import MessageKind, MessageState


@login_required
@require_GET
def outbox_index(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "manage_outbox")
    state = request.GET.get("state", "")
    counts = selectors.outbox_counts(user=request.user)
    kind = request.GET.get("kind", "")
    rows = list(
        selectors.outbox_list(user=request.user, state=state, kind=kind)[: selectors.PAGE_LIMIT]
    )
    return render(
        request,
        "outbox/index.html",
        {
            "rows": rows,
            "state": state if state in [*MessageState.values, "all"] else "",
            "kind": kind if kind in MessageKind.values else "",
            "states": [(v, label, counts[v]) for v, label in MessageState.choices],
            "kinds": MessageKind.choices,
            "retryable": services.RETRYABLE,
            "limit": selectors.PAGE_LIMIT,
        },
    )


@login_required
@require_POST
def outbox_retry(request: HttpRequest) -> HttpResponse:
    """Retry the messages ticked (or the one of the row's button), each audited."""
    permissions.require(request.user, "manage_outbox")
    # The row's own button retries that message alone; the bottom one, those ticked.
    one = request.POST.get("one", "")
    chosen = [one] if one else request.POST.getlist("message")
    ids = [int(v) for v in chosen if v.isdigit()][:500]
    done = 0
    for message in selectors.outbox_messages_for_user(user=request.user).filter(pk__in=ids):
        done += services.message_retry(message=message, by=request.user, request=request)
    if done:
        messages.success(
            request,
            ngettext("%(n)s message queued again.", "%(n)s messages queued again.", done)
            % {"n": done},
        )
    else:
        messages.info(request, _("Nothing to send again."))
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/outbox/") else "outbox:index")
