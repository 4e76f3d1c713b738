"""Opening hours in UK time, with bank holidays."""
from datetime import datetime

from signposting import hours

LINE = {"name": "Test line", "hours": [{"days": ["mon", "tue", "wed", "thu", "fri"], "opens": "09:00", "closes": "17:00"}],
        "bank_holidays": "closed"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=hours.UK)


def test_open_in_hours_with_closing_time():
    state = hours.open_state(LINE, at("2026-11-23T10:00"))  # a Monday
    assert state.open_now and state.describe(at("2026-11-23T10:00")) == "open now until 5pm"


def test_closed_in_the_evening_opens_tomorrow_morning():
    now = at("2026-11-23T21:30")
    state = hours.open_state(LINE, now)
    assert not state.open_now and state.describe(now) == "closed now, opens at 9am tomorrow"


def test_weekend_opens_on_monday():
    now = at("2026-11-28T12:00")  # Saturday
    assert hours.open_state(LINE, now).describe(now) == "closed now, opens at 9am on Monday"


def test_closed_on_bank_holidays_by_nation():
    christmas = at("2026-12-25T10:00")
    assert not hours.open_state(LINE, christmas).open_now
    st_andrews = at("2026-11-30T10:00")  # a Scottish bank holiday only
    assert not hours.open_state(LINE, st_andrews, "scotland").open_now
    assert hours.open_state(LINE, st_andrews, "england").open_now


def test_24_7_lines_are_always_open():
    assert hours.open_state({"open_24_7": True}, at("2026-12-25T03:00")).open_now


def test_described_hours():
    assert hours.describe_hours(LINE) == "9am to 5pm, Monday to Friday"
    assert hours.describe_hours({"open_24_7": True}) == "24 hours a day, every day"
