"""Working-day and working-hour arithmetic on the French calendar (no database)."""

from datetime import date, time

import pytest

from routing.business_calendar import (
    BusinessCalendar,
    add_calendar_months,
    is_working_day,
)
from tests.routing.helpers import paris

CAL = BusinessCalendar()  # 09:00–18:00


def test_french_public_holidays_are_not_working_days():
    assert not is_working_day(date(2026, 7, 14))  # national day, a Tuesday
    assert not is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not is_working_day(date(2026, 5, 14))  # Ascension Thursday
    assert not is_working_day(date(2026, 12, 25))
    assert not is_working_day(date(2026, 7, 11))  # a Saturday
    assert is_working_day(date(2026, 7, 15))


def test_working_days_skip_the_weekend_and_keep_the_time_of_day():
    friday = paris(2026, 6, 5, 17, 0)
    assert CAL.add_working_days(friday, 2) == paris(2026, 6, 9, 17, 0)  # Tuesday


def test_working_days_skip_easter_monday():
    thursday = paris(2026, 4, 2, 10, 30)
    # Friday 3, (weekend), Easter Monday 6 is off, Tuesday 7.
    assert CAL.add_working_days(thursday, 2) == paris(2026, 4, 7, 10, 30)


def test_working_days_skip_14_july():
    monday = paris(2026, 7, 13, 11, 0)
    assert CAL.add_working_days(monday, 1) == paris(2026, 7, 15, 11, 0)
    assert CAL.add_working_days(monday, 5) == paris(2026, 7, 21, 11, 0)


def test_a_message_outside_opening_hours_counts_from_the_next_opening():
    saturday = paris(2026, 6, 6, 15, 0)
    assert CAL.add_working_days(saturday, 2) == paris(2026, 6, 10, 9, 0)
    evening = paris(2026, 6, 8, 19, 30)  # Monday after closing
    assert CAL.add_working_days(evening, 1) == paris(2026, 6, 10, 9, 0)
    early = paris(2026, 6, 8, 7, 0)
    assert CAL.add_working_days(early, 0) == paris(2026, 6, 8, 9, 0)


def test_working_hours_run_across_the_night_and_the_weekend():
    friday = paris(2026, 6, 5, 16, 0)
    assert CAL.add_working_hours(friday, 4) == paris(2026, 6, 8, 11, 0)
    assert CAL.add_working_hours(friday, 2) == paris(2026, 6, 5, 18, 0)


def test_working_hours_follow_the_teams_opening_hours():
    call_centre = BusinessCalendar(opens_at=time(8, 0), closes_at=time(20, 0))
    assert call_centre.add_working_hours(paris(2026, 6, 5, 19, 0), 3) == paris(2026, 6, 8, 10, 0)


def test_working_seconds_between_ignore_nights_weekends_and_holidays():
    # Monday 13 July 17:00 → Wednesday 15 July 10:00: 1 h on Monday, 14 July off, 1 h.
    assert CAL.working_seconds_between(paris(2026, 7, 13, 17), paris(2026, 7, 15, 10)) == 7200
    assert CAL.working_seconds_between(paris(2026, 7, 15, 10), paris(2026, 7, 13, 17)) == -7200
    weekend = CAL.working_seconds_between(paris(2026, 6, 5, 18), paris(2026, 6, 8, 9))
    assert weekend == 0


def test_working_time_is_right_across_the_change_to_summer_time():
    # 29 March 2026: clocks go forward on Sunday; Friday 17:00 + 2 h = Monday 10:00.
    assert CAL.add_working_hours(paris(2026, 3, 27, 17), 2) == paris(2026, 3, 30, 10)


def test_calendar_months_clamp_to_the_end_of_a_shorter_month():
    assert add_calendar_months(paris(2026, 1, 31, 10), 1) == paris(2026, 2, 28, 10)
    assert add_calendar_months(paris(2026, 3, 15, 10), 1) == paris(2026, 4, 15, 10)
    assert add_calendar_months(paris(2026, 12, 15, 10), 1) == paris(2027, 1, 15, 10)


def test_a_team_must_close_after_it_opens():
    with pytest.raises(ValueError):
        BusinessCalendar(opens_at=time(18), closes_at=time(9))
