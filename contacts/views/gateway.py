"""Inbound webhook of a mail gateway: POST of one raw MIME message.

    POST /intake/mail-gateway/<code>/
    Authorization: Bearer <the gateway's secret>
    Content-Type: message/rfc822

Answers JSON shaped like a line of `ingest_email --json`: 201 created, 200 threaded,
duplicate or rejected-and-quarantined (the gateway must not send it again), 400 empty body,
401 unknown gateway or wrong secret, 413 too large, 415 not message/rfc822.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..services.email_intake import email_ingest
from ..services.integrations import integration_gateway_check

ACCEPTED_TYPES = {"message/rfc822", "application/octet-stream", "text/plain"}


def _error(status: int, detail: str, **headers) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


@csrf_exempt  # authenticated by the gateway's secret, not by a browser session
@require_POST
def mail_gateway(request: HttpRequest, code: str) -> JsonResponse:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    secret = header[7:].strip() if header.lower().startswith("bearer ") else ""
    secret = secret or request.META.get("HTTP_X_GATEWAY_SECRET", "")
    gateway = integration_gateway_check(code=code, secret=secret)
    if gateway is None:
        return _error(
            401, "unknown gateway or wrong secret", WWW_Authenticate='Bearer realm="mail"'
        )
    ctype = (request.content_type or "").lower()
    if ctype not in ACCEPTED_TYPES:
        return _error(415, f"expected Content-Type message/rfc822, got {ctype or 'none'}")
    limit = getattr(settings, "INTAKE_MAX_EMAIL_BYTES", settings.MAX_UPLOAD_BYTES)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "malformed Content-Length")
    if length > limit:
        return _error(413, f"message too large: {length} bytes (limit {limit} bytes)")
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return _error(413, f"message too large (limit {limit} bytes)")
    if not raw.strip():
        return _error(400, "empty body: expected one raw MIME message")
    outcome = email_ingest(
        raw=raw, source="gateway", source_detail=gateway.code, brand=gateway.brand
    )
    return JsonResponse(outcome.as_dict(), status=201 if outcome.status == "created" else 200)
