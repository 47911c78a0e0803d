"""What every dashboard read shares: the user's scope, the filters as query conditions on the
rollups, periods, percentiles from histograms, and links to the tickets behind a figure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import F, Q
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.models import Team, User
from contacts.models import Brand, Channel, Topic

from ..filters import Filters, encode_params, encoded_query
from ..models import DURATION_EDGES

L1_TARGET = 0.80  # DESIGN.md: the call centre should handle about 80 % of requests


@dataclass
class Scope:
    """The user, the filters and the reference data one page needs (fetched once)."""

    user: User
    filters: Filters
    brands: dict[int, Brand] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)
    visible_brands: frozenset[int] | None = None  # None: every brand
    _link_base: tuple[str, dict[str, str]] | None = None

    @classmethod
    def build(cls, *, user: User, filters: Filters) -> Scope:
        scope = cls(user=user, filters=filters)
        scope.visible_brands = permissions.brand_scope(user)
        scope.brands = {b.pk: b for b in Brand.objects.all()}
        scope.teams = {t.pk: t for t in Team.objects.all()}
        return scope

    # --- labels

    def brand_name(self, brand_id: int | None) -> str:
        brand = self.brands.get(brand_id) if brand_id else None
        return brand.name if brand else _("No brand")

    def team_name(self, team_id: int | None) -> str:
        team = self.teams.get(team_id) if team_id else None
        return team.name if team else _("No team")

    @staticmethod
    def channel_name(code: str) -> str:
        return str(Channel(code).label) if code in Channel.values else code or "—"

    @staticmethod
    def topic_name(code: str) -> str:
        return str(Topic(code).label) if code in Topic.values else code or _("No topic")

    @staticmethod
    def level_name(level: int | None) -> str:
        return _("Level %(n)s") % {"n": level} if level else "—"

    # --- conditions

    def brand_ids(self) -> list[int] | None:
        """The brands the figures cover: the filter (a national brand with its stations)
        within what the user may see; None for every brand."""
        chosen: set[int] | None = None
        if self.filters.brand:
            chosen = {
                pk
                for pk, b in self.brands.items()
                if pk == self.filters.brand or b.parent_id == self.filters.brand
            }
        if self.visible_brands is not None:
            chosen = set(self.visible_brands) if chosen is None else chosen & self.visible_brands
        return None if chosen is None else sorted(chosen)

    def rollup_q(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        channel: bool = True,
        team: bool = True,
        brand: bool = True,
    ) -> Q:
        """The filters as a condition on a rollup table (day, brand, channel, team)."""
        f = self.filters
        q = Q(day__gte=start or f.start, day__lte=end or f.end)
        ids = self.brand_ids() if brand else None
        if ids is not None:
            # Tickets with no brand yet are visible at the user's levels (accounts.permissions),
            # but a brand filter asks for that brand only.
            q &= (
                Q(brand_id__in=ids) | Q(brand_id__isnull=True)
                if not f.brand
                else Q(brand_id__in=ids)
            )
        if channel and f.channel:
            q &= Q(channel=f.channel)
        if team and f.team:
            q &= Q(team_id=f.team)
        return q

    # --- links

    def tickets_url(self, **extra: object) -> str:
        """The list of tickets behind a figure: the page's filters plus `extra`. A page has
        a thousand of them: the path and the filters' parameters are worked out once."""
        if not self._link_base:
            self._link_base = (reverse("reporting:tickets"), encode_params(self.filters.params()))
        path, params = self._link_base
        return f"{path}?{encoded_query(params, extra)}"


# --- periods -----------------------------------------------------------------------------------


def period_expr(grain: str):
    """The period a rollup row falls in: its stored day, week (Monday) or month (1st)."""
    return F({"month": "month", "week": "week"}.get(grain, "day"))


def period_start(day: date, grain: str) -> date:
    if grain == "month":
        return day.replace(day=1)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day


def period_starts(start: date, end: date, grain: str) -> list[date]:
    """Every period from the one holding `start` to the one holding `end`."""
    out, cursor = [], period_start(start, grain)
    while cursor <= end:
        out.append(cursor)
        if grain == "month":
            cursor = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        elif grain == "week":
            cursor += timedelta(days=7)
        else:
            cursor += timedelta(days=1)
    return out


def period_bounds(first: date, grain: str, filters: Filters) -> tuple[date, date]:
    """The days of one period, clipped to the filters' range (for the tickets link)."""
    if grain == "month":
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    elif grain == "week":
        last = first + timedelta(days=6)
    else:
        last = first
    return max(first, filters.start), min(last, filters.end)


def period_label(first: date, grain: str) -> str:
    if grain == "month":
        return formats.date_format(first, "M Y")
    if grain == "week":
        return _("wk %(d)s") % {"d": formats.date_format(first, "d/m/y")}
    return formats.date_format(first, "d/m")


def as_date(value) -> date:
    """Trunc on a DateField gives a date on PostgreSQL and may give a datetime elsewhere."""
    return value.date() if hasattr(value, "date") and callable(value.date) else value


# --- percentiles from a histogram --------------------------------------------------------------


def percentile(counts: dict[int, int], q: float) -> float | None:
    """The q-quantile (0–1) of durations counted per bucket of DURATION_EDGES, interpolated
    linearly inside its bucket; the open last bucket answers its lower bound."""
    total = sum(counts.values())
    if not total:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(counts):
        n = counts[bucket]
        if n and seen + n >= rank:
            low = DURATION_EDGES[bucket - 1] if bucket > 0 else 0
            if bucket >= len(DURATION_EDGES):
                return float(low)
            high = DURATION_EDGES[bucket]
            return low + (high - low) * max(rank - seen, 0) / n
        seen += n
    return float(DURATION_EDGES[-1])


def bucket_bounds(bucket: int) -> tuple[int, int | None]:
    low = DURATION_EDGES[bucket - 1] if bucket > 0 else 0
    high = DURATION_EDGES[bucket] if bucket < len(DURATION_EDGES) else None
    return low, high


def top_keys(totals: dict, n: int) -> list:
    """The n largest keys by value (ties by key), for the series a chart keeps."""
    return [k for k, _ in sorted(totals.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]]


def sum_rows(rows: Iterable[dict], keys: Iterable[str]) -> dict[str, int]:
    keys = list(keys)
    out = dict.fromkeys(keys, 0)
    for r in rows:
        for k in keys:
            out[k] += r.get(k) or 0
    return out
