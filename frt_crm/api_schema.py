"""The OpenAPI schema says every answer an operation can give, errors included.

Each operation gets, besides what its view declares, the refusals that can reach it, all with
the one error body (frt_crm.api_errors.ApiError): 400 where it takes a body or query
parameters, 401 and 403 where it needs a caller, 404 where its path names an object or its
list is paginated by cursor, 413 and 415 where it takes a body, 414 everywhere (a front server
refuses over-long addresses), 429 where a throttle applies.
"""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import AllowAny

from .api_errors import ApiError

DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each field refused.",
    "401": "No credentials, or credentials not recognised.",
    "403": "The caller may not do this.",
    "404": "No such object among those the caller may see (or an invalid cursor).",
    "409": "Conflict with the current state of the object.",
    "413": "Request body too large.",
    "414": "Request address too long.",
    "415": "Unsupported content type: send application/json.",
    "429": "Too many requests: wait the number of seconds in Retry-After.",
}


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> set[str]:
        view = self.view
        has_body = self.method in ("POST", "PUT", "PATCH") and bool(self.get_request_serializer())
        codes = {"414"}
        if has_body or self.get_filter_backends() or self._is_list_view():
            codes.add("400")
        if not all(isinstance(p, AllowAny) for p in view.get_permissions()):
            codes |= {"401", "403"}
        paginator = self._get_paginator()
        if "{" in self.path or (self._is_list_view() and isinstance(paginator, CursorPagination)):
            codes.add("404")
        if has_body:
            codes |= {"413", "415"}
        if view.get_throttles():
            codes.add("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        declared_errors = {c for c in responses if c.startswith("4")}
        for code in sorted(self._error_codes() | declared_errors):
            if code in responses and "content" in responses[code]:
                continue  # the view documented this answer with its own body
            response = self._get_response_for_code(ApiError, code, direction=direction)
            response["description"] = DESCRIPTIONS.get(code, response.get("description", ""))
            responses[code] = response
        return responses
