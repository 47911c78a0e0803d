"""One error body for every refusal of the API.

Every 4xx of /api/ answers the same JSON shape, whatever refused the request (validation,
authentication, permission, throttle, parser, a view's own conflict):

    {"detail": "One sentence for a person.", "code": "machine_code",
     "errors": {"sender.email": ["Enter a valid email address."]}}

`errors` lists the messages by field, with dotted paths for nested fields and list indexes
(`consents.0.kind`); it is empty when the refusal concerns no field. A view may add keys of
its own to this shape (the 409 of a used external_id adds `contact`).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(serializers.Serializer):
    """The body of every 4xx answer of the API (see the module's docstring)."""

    detail = serializers.CharField(help_text="What was refused, for a person to read.")
    code = serializers.CharField(
        help_text="Machine-readable reason: invalid, parse_error, not_authenticated, "
        "authentication_failed, permission_denied, not_found, conflict, too_large, "
        "unsupported_media_type, throttled…"
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages by field (dotted path for nested fields); empty when no field is "
        "concerned.",
    )


class ApiConflict(ApiError):
    contact = serializers.IntegerField(
        required=False, help_text="The contact already made under this external_id."
    )


class Conflict(exceptions.APIException):
    """409: the request contradicts what the server holds; `extra` joins the error body."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = _("Conflict with the current state of the resource.")
    default_code = "conflict"

    def __init__(self, detail=None, code=None, extra: dict | None = None):
        super().__init__(detail, code)
        self.extra = extra or {}


def _flatten(detail, prefix: str, into: dict[str, list[str]]) -> None:
    if isinstance(detail, dict):
        for key, value in detail.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), into)
    elif isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            into.setdefault(prefix or "non_field_errors", []).extend(str(d) for d in detail)
        else:
            for index, item in enumerate(detail):
                if item:  # a list serializer gives {} for each valid item
                    _flatten(item, f"{prefix}.{index}" if prefix else str(index), into)
    else:
        into.setdefault(prefix or "non_field_errors", []).append(str(detail))


def error_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        errors: dict[str, list[str]] = {}
        _flatten(exc.detail, "", errors)
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid"
        if isinstance(codes, list) and len(codes) == 1 and isinstance(codes[0], str):
            code = codes[0]
        return {"detail": str(_("Invalid input.")), "code": code, "errors": errors}
    detail = exc.detail
    if isinstance(detail, dict | list):
        errors = {}
        _flatten(detail, "", errors)
        first = next(iter(errors.values()), [""])[0]
        return {"detail": first, "code": exc.default_code, "errors": errors}
    body = {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code}
    body["errors"] = {}
    body.update(getattr(exc, "extra", {}))
    return body


def exception_handler(exc, context):
    """DRF's handler with the one error body. Django's `django.request` logger then writes
    the refusal as one line ("Not Found: /api/v1/tickets/9/"); see LOGGING for tracebacks."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a bug: Django answers 500 and logs the traceback
    response.data = error_body(exc)
    return response
