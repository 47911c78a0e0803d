"""The dashboards' filters (period, brand, channel, team), read from the query string.

One `Filters` value travels from the request to the selectors, the export and the ticket
list, so a figure and the tickets behind it are always counted on the same terms. Unknown or
malformed values fall back to the defaults rather than erroring: a manager who edits a URL by
hand sees the default page, not a 500.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

from contacts.models import Channel

GRAINS = ("day", "week", "month")
PERIODS = {"7d": 7, "28d": 28, "90d": 90, "365d": 365}
DEFAULT_PERIOD = "28d"
MAX_DAYS = 366 * 11  # ten years of history and a margin


PARIS = ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """Local midnight of `day` as an aware datetime (Europe/Paris)."""
    return datetime.combine(day, time.min, tzinfo=PARIS)


def today() -> date:
    return timezone.localdate()


def _parse_date(raw: object) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        return None


def _parse_int(raw: object) -> int | None:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw))
    except ValueError:
        return None
    return value if value > 0 else None


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    period: str = DEFAULT_PERIOD  # a PERIODS key, or "custom"
    brand: int | None = None  # a national brand covers its regional stations
    channel: str = ""
    team: int | None = None
    grain: str = "week"

    @classmethod
    def from_query(cls, query: QueryDict | dict, *, default_grain: str = "week") -> Filters:
        get = query.get
        period = get("period") or DEFAULT_PERIOD
        end = _parse_date(get("to")) or today()
        start = _parse_date(get("from"))
        if period in PERIODS and not (get("from") or get("to")):
            start = end - timedelta(days=PERIODS[period] - 1)
        elif start is None:
            period = DEFAULT_PERIOD
            start = end - timedelta(days=PERIODS[period] - 1)
        else:
            period = "custom"
        if start > end:
            start, end = end, start
        if (end - start).days > MAX_DAYS:
            start = end - timedelta(days=MAX_DAYS)
        channel = get("channel") or ""
        if channel not in Channel.values:
            channel = ""
        grain = get("grain") or default_grain
        if grain not in GRAINS:
            grain = default_grain
        return cls(
            start=start,
            end=end,
            period=period,
            brand=_parse_int(get("brand")),
            channel=channel,
            team=_parse_int(get("team")),
            grain=grain,
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def params(self) -> dict[str, object]:
        """The filters as query parameters (what `from_query` reads back)."""
        params: dict[str, object] = {}
        if self.period == "custom":
            params["from"] = self.start.isoformat()
            params["to"] = self.end.isoformat()
        else:
            params["period"] = self.period
            if self.end != today():
                params["to"] = self.end.isoformat()
                params["from"] = self.start.isoformat()
        if self.brand:
            params["brand"] = self.brand
        if self.channel:
            params["channel"] = self.channel
        if self.team:
            params["team"] = self.team
        params["grain"] = self.grain
        return params

    def query(self, **extra: object) -> str:
        """The filters as a query string (with `extra` parameters), for links and exports."""
        return query_string(self.params(), extra)


def query_string(base: dict[str, object], extra: dict[str, object]) -> str:
    """`base` updated with `extra` (an empty or None value drops the parameter), encoded."""
    return encoded_query(encode_params(base), extra)


def encode_params(params: dict[str, object]) -> dict[str, str]:
    """Each parameter as its encoded `key=value`, to be reused by many links."""
    return {key: f"{quote_plus(key)}={quote_plus(str(value))}" for key, value in params.items()}


def encoded_query(base: dict[str, str], extra: dict[str, object]) -> str:
    """Pre-encoded `base` parameters updated with `extra`: a page builds a thousand links on
    the same filters, so only the few parameters that differ are encoded each time."""
    params = dict(base)
    for key, value in extra.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = f"{quote_plus(key)}={quote_plus(str(value))}"
    return "&".join(params.values())

    def with_(self, **changes: object) -> Filters:
        return replace(self, **changes)
