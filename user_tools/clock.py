"""Date and time tools: models do not know the current time and are poor at calendar sums."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from glm4_app.tools.functions import tool


@tool
def get_current_time(timezone: str = "UTC") -> dict:
    """Get the current date and time in a time zone.

    Args:
        timezone: IANA time zone name, for example "Asia/Shanghai", "Europe/Berlin" or "UTC".
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {timezone!r}; use an IANA name such as 'Asia/Shanghai'"
        ) from None
    now = datetime.now(zone)
    return {
        "timezone": timezone,
        "datetime": now.isoformat(timespec="seconds"),
        "weekday": now.strftime("%A"),
        "utc_offset": now.strftime("%z"),
    }


@tool
def days_between(start_date: str, end_date: str) -> dict:
    """Count the days from one date to another (negative when end_date is earlier).

    Args:
        start_date: First date as YYYY-MM-DD.
        end_date: Second date as YYYY-MM-DD.
    """
    start, end = date.fromisoformat(start_date), date.fromisoformat(end_date)
    days = (end - start).days
    return {"days": days, "weeks": round(days / 7, 2), "end_weekday": end.strftime("%A")}
