"""Opening hours in UK time: is a service open now, and when does it next open?"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

UK = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
# the holidays package's subdivision codes for the four nations
SUBDIVISION = {"england": "ENG", "scotland": "SCT", "wales": "WLS", "northern_ireland": "NIR"}


@lru_cache(maxsize=8)
def _bank_holidays(nation: str) -> holidays.HolidayBase:
    return holidays.UK(subdiv=SUBDIVISION.get(nation, "ENG"))


def is_bank_holiday(day: date, nation: str | None = None) -> bool:
    return day in _bank_holidays(nation or "england")


def _parse(hhmm: str) -> time:
    if hhmm == "24:00":
        return time(23, 59, 59)
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class OpenState:
    open_now: bool
    closes_at: datetime | None = None
    opens_at: datetime | None = None

    def describe(self, now: datetime) -> str:
        """'open now until 8pm', 'opens at 8am tomorrow', 'open 24 hours'."""
        if self.open_now and self.closes_at is None:
            return "open 24 hours, every day"
        if self.open_now:
            return f"open now until {clock(self.closes_at)}"
        if self.opens_at is None:
            return "closed"
        return f"closed now, opens {when(self.opens_at, now)}"


def clock(moment: datetime) -> str:
    """8am, 8:30pm."""
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def when(moment: datetime, now: datetime) -> str:
    """'at 8am today', 'at 8am tomorrow', 'at 9am on Monday'."""
    days = (moment.date() - now.astimezone(UK).date()).days
    if days == 0:
        return f"at {clock(moment)} today"
    if days == 1:
        return f"at {clock(moment)} tomorrow"
    return f"at {clock(moment)} on {DAY_NAMES[DAYS[moment.weekday()]]}"


def _sessions(helpline: dict, day: date, nation: str | None) -> list[tuple[datetime, datetime]]:
    if is_bank_holiday(day, nation) and helpline.get("bank_holidays") == "closed":
        return []
    sessions = []
    for block in helpline.get("hours") or []:
        if DAYS[day.weekday()] in block["days"]:
            start = datetime.combine(day, _parse(block["opens"]), UK)
            end = datetime.combine(day, _parse(block["closes"]), UK)
            sessions.append((start, end))
    return sorted(sessions)


def open_state(helpline: dict, now: datetime | None = None, nation: str | None = None) -> OpenState:
    """Whether a helpline is open at ``now`` (UK time), and when it closes or next opens."""
    now = (now or datetime.now(UK)).astimezone(UK)
    if helpline.get("open_24_7"):
        return OpenState(True)
    for offset in range(0, 15):
        day = now.date() + timedelta(days=offset)
        for start, end in _sessions(helpline, day, nation):
            if start <= now < end:
                return OpenState(True, closes_at=end)
            if start > now:
                return OpenState(False, opens_at=start)
    return OpenState(False)


def describe_hours(helpline: dict) -> str:
    """A short human description of the weekly hours: '8am to 8pm, 7 days a week'."""
    if helpline.get("open_24_7"):
        return "24 hours a day, every day"
    parts = []
    for block in helpline.get("hours") or []:
        days = block["days"]
        if list(days) == list(DAYS):
            span = "7 days a week"
        elif list(days) == list(DAYS[:5]):
            span = "Monday to Friday"
        elif len(days) > 2 and list(days) == list(DAYS[DAYS.index(days[0]):DAYS.index(days[-1]) + 1]):
            span = f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
        else:
            names = [DAY_NAMES[d] for d in days]
            span = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        opens = clock(datetime.combine(date.today(), _parse(block["opens"])))
        closes = clock(datetime.combine(date.today(), _parse(block["closes"])))
        parts.append(f"{opens} to {closes}, {span}")
    return "; ".join(parts)
