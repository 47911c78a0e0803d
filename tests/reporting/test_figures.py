"""The dashboards' figures on the known data set (conftest.py), each worked out by hand."""

from __future__ import annotations

import pytest

from reporting.filters import Filters
from reporting.models import DURATION_EDGES
from reporting.selectors import Scope, overview_page, satisfaction_page, service_page, volumes_page
from reporting.selectors.common import bucket_bounds, percentile

from .conftest import DAY, PERIOD

pytestmark = pytest.mark.django_db


def scope_for(user, **extra) -> Scope:
    return Scope.build(user=user, filters=Filters.from_query({**PERIOD, **extra}))


def cells(table, column: str) -> list:
    i = [c.key for c in table.columns].index(column)
    return [row[i].value for row in table.rows]


def footer(table, column: str):
    i = [c.key for c in table.columns].index(column)
    return table.footer[i].value


def tiles(page) -> dict:
    return {str(t.label): t.value for t in page.tiles}


def bucket_of(seconds: float) -> int:
    return next((i for i, edge in enumerate(DURATION_EDGES) if seconds < edge), len(DURATION_EDGES))


def test_volumes_by_channel_and_level_share(rolled, manager):
    page = volumes_page(scope=scope_for(manager, grain="week"), dimension="channel")
    by_channel = page.table("by_dimension")
    # T1, T2, T6, T8, T10 by email; T3, T7 by phone; T4 web; T5 letter. T9 is before the period.
    assert dict(zip(cells(by_channel, "value"), cells(by_channel, "tickets"), strict=True)) == {
        "Email": 5,
        "Phone": 2,
        "Web form": 1,
        "Letter": 1,
    }
    volumes = page.table("volumes")
    assert footer(volumes, "total") == 9
    # Weeks of 2 and 9 March (Monday to Sunday): T1–T5 | T6, T7, T8, T10.
    assert cells(volumes, "total") == [5, 4]
    levels = page.table("levels")
    # Level 1 now: T1, T2, T3, T5, T7 (sent back), T8 = 6 of 9.
    assert footer(levels, "l1_share") == pytest.approx(6 / 9)
    assert cells(levels, "l1") == [4, 2]


def test_escalation_and_send_back_rates(rolled, manager):
    page = volumes_page(scope=scope_for(manager), dimension="level")
    rates = page.table("escalations")
    # Escalated: T4, T6, T7 = 3 of 9; sent back: T7 = 1 of the 3 escalated.
    assert footer(rates, "escalated") == 3
    assert footer(rates, "escalation_rate") == pytest.approx(3 / 9)
    assert footer(rates, "sent_back") == 1
    assert footer(rates, "send_back_rate") == pytest.approx(1 / 3)


def test_sla_compliance_per_level_and_channel(rolled, manager):
    page = service_page(scope=scope_for(manager))
    sla = page.table("sla")
    # First answer due and decided: T1, T2, T4, T5 (due 12th, never answered), T6, T8, T10
    # (due today 10:00, never answered) = 7; on time: T1, T4, T6, T8 = 4.
    assert footer(sla, "fr_due") == 7
    assert footer(sla, "fr_rate") == pytest.approx(4 / 7)
    # Resolution due and decided: T1, T2, T8 (the others are open and not yet due) = 3; on
    # time: T1, T8 (T2 resolved on the 10th, due the 9th).
    assert footer(sla, "res_due") == 3
    assert footer(sla, "res_rate") == pytest.approx(2 / 3)
    rows = {(r[0].value, r[1].value): r for r in sla.rows}
    level1_email = rows[("Level 1", "Email")]
    # Level 1 by email: T1, T2, T8: first answers 2 of 3 on time, resolutions 2 of 3.
    assert [c.value for c in level1_email[2:]] == [
        3,
        3,
        pytest.approx(2 / 3),
        1,
        3,
        pytest.approx(2 / 3),
        1,
    ]


def test_median_and_90th_percentile_times(rolled, manager):
    page = service_page(scope=scope_for(manager))
    times = page.table("times")
    # Resolution times: T3 600 s, T8 1 d, T7 2 d, T1 3 d, T2 8 d. Exact median 2 d, exact
    # 90th percentile (nearest rank: the 5th of 5) 8 d. The histogram answers within the
    # bucket holding the exact value.
    resolution = sorted([600, 1 * DAY, 2 * DAY, 3 * DAY, 8 * DAY])
    exact_median, exact_p90 = resolution[2], resolution[4]
    median, p90 = footer(times, "res_p50"), footer(times, "res_p90")
    for estimate, exact in ((median, exact_median), (p90, exact_p90)):
        low, high = bucket_bounds(bucket_of(exact))
        assert low <= estimate <= high
    assert footer(times, "res_n") == 5
    # First answer (or resolution when no answer was recorded): T3 600 s, T1, T4, T6, T8 1 d,
    # T7 2 d, T2 3 d. Median (4th of 7) 1 d, 90th percentile (7th) 3 d.
    first = sorted([600, DAY, DAY, DAY, DAY, 2 * DAY, 3 * DAY])
    for estimate, exact in (
        (footer(times, "fr_p50"), first[3]),
        (footer(times, "fr_p90"), first[6]),
    ):
        low, high = bucket_bounds(bucket_of(exact))
        assert low <= estimate <= high


def test_percentile_interpolates_inside_a_bucket():
    # Ten values spread evenly in the bucket [1 d, 1.5 d): the median is its middle.
    bucket = bucket_of(DAY)
    assert percentile({bucket: 10}, 0.5) == pytest.approx(1.25 * DAY)
    assert percentile({}, 0.5) is None
    # Last, open-ended bucket: its lower bound.
    assert percentile({len(DURATION_EDGES): 3}, 0.9) == DURATION_EDGES[-1]


def test_first_contact_resolution(rolled, manager):
    page = service_page(scope=scope_for(manager))
    tile = tiles(page)["First-contact resolution"]
    # Resolved: T1, T2, T3, T7, T8. At first contact: T1, T3, T8 (T2 wrote twice, T7 was
    # escalated) = 3 of 5.
    assert tile == pytest.approx(3 / 5)


def test_calls_service_level_and_handling_time(rolled, manager):
    page = service_page(scope=scope_for(manager))
    handling = page.table("handling")
    row = {c.key: cell.value for c, cell in zip(handling.columns, handling.rows[0], strict=True)}
    # 4 calls offered, 3 answered (waits 5, 15, 25 s), 1 abandoned; within 20 s: 2 of 4.
    assert row["offered"] == 4
    assert row["abandoned"] == 1
    assert row["within_20"] == pytest.approx(2 / 4)
    assert row["asa"] == pytest.approx((5 + 15 + 25) / 3)
    assert row["aht"] == pytest.approx((300 + 600 + 900) / 3)


def test_satisfaction_response_rate_csat_and_distribution(rolled, manager):
    page = satisfaction_page(scope=scope_for(manager))
    figures = tiles(page)
    # Sent in the period: 5 (T1, T2, T3, T7, T8); answered 4 with scores 5, 2, 4, 3.
    assert figures["Response rate"] == pytest.approx(4 / 5)
    assert figures["CSAT (scores 4–5)"] == pytest.approx(2 / 4)
    dist = page.table("distribution")
    assert cells(dist, "answers") == [1, 1, 1, 1, 0]  # scores 5, 4, 3, 2, 1
    comments = page.table("comments")
    assert cells(comments, "comment") == ["Moyen.", "Réponse toute faite."]
    by_channel = page.table("by_channel")
    csat = dict(zip(cells(by_channel, "value"), cells(by_channel, "csat"), strict=True))
    # Email: T1 (5), T2 (2) → 1 of 2; phone: T3 (4), T7 (3) → 1 of 2.
    assert csat == {"Email": pytest.approx(0.5), "Phone": pytest.approx(0.5)}


def test_overview_tiles(rolled, manager):
    figures = tiles(overview_page(scope=scope_for(manager)))
    assert figures["Tickets"] == 9
    assert figures["Handled at level 1"] == pytest.approx(6 / 9)
    assert figures["Escalation rate"] == pytest.approx(3 / 9)
    assert figures["First answer on time"] == pytest.approx(4 / 7)
    assert figures["Resolution on time"] == pytest.approx(2 / 3)
    assert figures["CSAT (scores 4–5)"] == pytest.approx(0.5)
    assert figures["Calls answered within 20 s"] == pytest.approx(0.5)


def test_filters_brand_channel_team(rolled, manager):
    from accounts.models import Team
    from contacts.models import Brand

    france3 = Brand.objects.get(code="france3").pk
    # France 3 covers its regional stations: T3 (France 3) and T6 (France 3 Bretagne).
    assert tiles(overview_page(scope=scope_for(manager, brand=france3)))["Tickets"] == 2
    assert tiles(overview_page(scope=scope_for(manager, channel="email")))["Tickets"] == 5
    srt2 = Team.objects.get(code="srt-france2").pk
    assert tiles(overview_page(scope=scope_for(manager, team=srt2)))["Tickets"] == 2


def test_a_manager_of_one_brand_sees_only_its_figures(rolled, limited_manager):
    figures = tiles(overview_page(scope=scope_for(limited_manager)))
    assert figures["Tickets"] == 1  # T5, France 5


def test_rising_topics(rolled, manager):
    from reporting.selectors.overview import rising_table

    # The 7 days to 15 March hold T6, T7, T8, T10: one ticket per topic, under the threshold
    # of 5 a week: nothing is "news".
    assert rising_table(scope_for(manager), "topic").rows == []
