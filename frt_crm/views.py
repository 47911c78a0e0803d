"""Project-level views: health check and the role-aware home page."""

from __future__ import annotations

import sys
import time

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from .middleware import RETRY_AFTER_SECONDS, database_reachable, is_database_outage, outage_response


def _check_database() -> dict:
    """A fresh connection (outside the pool, bounded by the connect timeout): the answer
    comes within about the connect timeout even when the pool would wait."""
    started = time.monotonic()
    ok = database_reachable()
    answer = {
        "ok": ok,
        "vendor": connection.vendor,
        "ms": round((time.monotonic() - started) * 1000, 1),
    }
    if not ok:
        answer["error"] = "unreachable"
    return answer


def _check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager", "detail": "tasks run in-process"}
    from frt_crm.celery import app

    started = time.monotonic()
    try:
        with app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # unreachable broker: report it
        return {"ok": False, "mode": "broker", "error": exc.__class__.__name__}
    return {"ok": True, "mode": "broker", "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability, as JSON, with the parts `degraded`.

    503 when the database is down (nothing can be served: a load balancer should send no
    traffic here); 200 with status `degraded` when only the broker is: pages and the API
    still work, asynchronous work waits in the database for the sweeps.
    """
    database = _check_database()
    broker = _check_broker()
    parts = {"database": database, "broker": broker}
    degraded = [name for name, part in parts.items() if not part["ok"]]
    status = "error" if not database["ok"] else "degraded" if degraded else "ok"
    response = JsonResponse(
        {"status": status, "degraded": degraded, "database": database, "broker": broker},
        status=503 if not database["ok"] else 200,
    )
    if not database["ok"]:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage raised outside a view (a session saved by a middleware)
    is a 503 with Retry-After, like one raised inside (DatabaseOutageMiddleware); anything
    else is Django's 500."""
    exc = sys.exc_info()[1]
    if exc is not None and is_database_outage(exc):
        return outage_response(request)
    return defaults.server_error(request)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, asked by browsers on pages that name no icon (files, the API): the SVG."""
    path = finders.find("favicon.svg")
    with open(path, "rb") as icon:
        return HttpResponse(icon.read(), content_type="image/svg+xml")
