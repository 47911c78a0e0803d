"""What the API accepts: the JSON parser, strict fields and the bounds of what the database
stores. A value outside them is refused with a 400 naming the field, before any handler runs.

- Bodies: JSON only, at most API_MAX_BYTES (413 beyond), nested at most MAX_JSON_DEPTH levels,
  no NUL character and no lone surrogate in any key or string (PostgreSQL cannot store them).
- Strings are strings: a number where text is expected is refused, as is a string where a
  number or a boolean is expected (no silent coercion).
- Integers within the column's range; dates and times between years 1900 and 2200, with a
  UTC offset of at most 14 hours (the offsets in use in the world).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from rest_framework import exceptions, parsers, serializers, status

MAX_JSON_DEPTH = 32
INT32_MAX = 2**31 - 1
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_UTC_OFFSET = timedelta(hours=14)

# A character PostgreSQL cannot store in text or jsonb (NUL), or that is not a character at
# all (half of a UTF-16 surrogate pair, which JSON's \uD800 escapes can produce).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("Request body too large.")
    default_code = "too_large"


def api_max_bytes() -> int:
    return getattr(settings, "INTAKE_API_MAX_BYTES", 1024 * 1024)


def check_content_length(request) -> None:
    """413 when the declared length of the body passes the limit (before reading it)."""
    limit = api_max_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(
            _("Request body too large: %(size)s bytes (limit %(limit)s bytes).")
            % {"size": declared, "limit": limit}
        )


def _unstorable_message(text: str) -> str:
    if "\x00" in text:
        return str(_("Null characters are not allowed."))
    return str(_("Surrogate characters are not allowed."))


def _check_document(document) -> None:
    """Refuse nesting beyond MAX_JSON_DEPTH and unstorable characters, naming where.

    Iterative, so that no document can exhaust the stack."""
    errors: dict[str, list[str]] = {}
    stack = [(document, "", 0)]
    while stack and len(errors) < 20:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            errors[path] = [
                str(_("Nested more than %(max)s levels deep.") % {"max": MAX_JSON_DEPTH})
            ]
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                shown = _UNSTORABLE.sub("\ufffd", key)
                where = f"{path}.{shown}" if path else shown
                if _UNSTORABLE.search(key):
                    errors[where] = [_unstorable_message(key)]
                stack.append((item, where, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, f"{path}.{index}" if path else str(index), depth + 1))
        elif isinstance(value, str) and _UNSTORABLE.search(value):
            errors[path or "non_field_errors"] = [_unstorable_message(value)]
    if errors:
        raise exceptions.ValidationError(errors)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, bounded: size (413), nesting depth and unstorable characters (400).

    The standard library's decoder recurses once per level: a body nested 50,000 levels deep
    makes it raise RecursionError, which DRF would let through as a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = api_max_bytes()
        request = (parser_context or {}).get("request")
        if request is not None:
            check_content_length(request)
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise PayloadTooLarge(
                _("Request body too large (limit %(limit)s bytes).") % {"limit": limit}
            )
        try:
            text = data.decode((parser_context or {}).get("encoding") or "utf-8")
            document = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError:
            raise exceptions.ParseError(
                _("JSON parse error - nested more than %(max)s levels deep.")
                % {"max": MAX_JSON_DEPTH}
            ) from None
        except ValueError as exc:
            message = _("JSON parse error - %(error)s") % {"error": exc}
            raise exceptions.ParseError(message) from None
        _check_document(document)
        return document


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


# --- strict fields -----------------------------------------------------------------------------


class CharField(serializers.CharField):
    """Text, and only text: 42 is not the string "42"."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class EmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ChoiceField(serializers.ChoiceField):
    """A choice given with the type of its values: "2" is not the level 2, nor 2 the "2"."""

    def to_internal_value(self, data):
        kinds = {type(value) for value in self.choices}
        if isinstance(data, bool) or not isinstance(data, tuple(kinds) or (str,)):
            self.fail("invalid_choice", input=data)
        return super().to_internal_value(data)


class IntegerField(serializers.IntegerField):
    """A JSON integer within a 32-bit column's range unless bounded tighter."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", -INT32_MAX - 1)
        kwargs.setdefault("max_value", INT32_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class BooleanField(serializers.BooleanField):
    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


def check_datetime(value: datetime) -> str | None:
    """Why the database cannot store this date and time, or None."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return str(_("The UTC offset must be between -14:00 and +14:00."))
    try:
        if not EARLIEST <= (value if offset is not None else timezone.make_aware(value)) < LATEST:
            raise OverflowError
    except (OverflowError, ValueError):
        return str(_("The date must be between the years 1900 and 2199."))
    return None


class DateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time that the database stores; optionally within a window around
    now (`max_past`, `max_future`) for the time of an event that just happened."""

    def __init__(self, *, max_past: timedelta | None = None, max_future=None, **kwargs):
        self.max_past, self.max_future = max_past, max_future
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        try:
            raw = parse_datetime(value)
        except ValueError:
            raw = None  # DRF's own parsing says what is wrong with it
        if raw is not None and (problem := check_datetime(raw)):
            raise serializers.ValidationError(problem, code="out_of_range")
        result = super().to_internal_value(value)
        now = timezone.now()
        if self.max_past is not None and result < now - self.max_past:
            raise serializers.ValidationError(
                _("Too far in the past (at most %(days)s days ago).")
                % {"days": self.max_past.days},
                code="out_of_range",
            )
        if self.max_future is not None and result > now + self.max_future:
            raise serializers.ValidationError(_("In the future."), code="out_of_range")
        return result


class JSONObjectField(serializers.DictField):
    """A free-form JSON object kept as is (`meta`): bounded in depth and size. Keys and strings
    are already checked for unstorable characters by the parser."""

    def __init__(self, *, max_depth: int = 5, max_bytes: int = 16 * 1024, **kwargs):
        self.max_depth, self.max_bytes = max_depth, max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        _check_document(value)  # also when the data did not come through the parser
        stack = [(value, 1)]
        while stack:
            item, depth = stack.pop()
            if depth > self.max_depth:
                raise serializers.ValidationError(
                    _("Nested more than %(max)s levels deep.") % {"max": self.max_depth},
                    code="too_deep",
                )
            children = item.values() if isinstance(item, dict) else item
            if isinstance(item, dict | list):
                stack.extend((child, depth + 1) for child in children)
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        if size > self.max_bytes:
            raise serializers.ValidationError(
                _("Larger than %(max)s bytes once encoded.") % {"max": self.max_bytes},
                code="too_large",
            )
        return value


# --- query parameters (django-filter) ----------------------------------------------------------


class DateTimeFilterField(IsoDateTimeField):
    """The form field of a date-time query parameter, within what the database stores."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None and (problem := check_datetime(result)):
            raise forms.ValidationError(problem, code="out_of_range")
        return result


class IntegerFormField(forms.IntegerField):
    """The form field of a whole-number query parameter, within a 64-bit column's range."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)
