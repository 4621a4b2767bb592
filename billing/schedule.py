"""Calendar arithmetic for anything that repeats: recurring invoices, pre-payments, plans."""
import calendar
import datetime as dt
import zoneinfo

FREQUENCIES = {
    "daily": "Daily", "weekly": "Weekly", "fortnightly": "Every two weeks",
    "four_weekly": "Every four weeks", "monthly": "Monthly",
    "bimonthly": "Every two months", "quarterly": "Every three months",
    "semiannually": "Every six months", "yearly": "Yearly",
}
_DAYS = {"daily": 1, "weekly": 7, "fortnightly": 14, "four_weekly": 28}
_MONTHS = {"monthly": 1, "bimonthly": 2, "quarterly": 3, "semiannually": 6, "yearly": 12}


def add_months(date, months, anchor_day=None):
    """Same day of month, clamped to the month's end (Jan 31 -> Feb 28 -> Mar 31 with anchor)."""
    month_index = date.month - 1 + months
    year, month = date.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_day or date.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def next_date(date, frequency, anchor_day=None):
    if frequency in _DAYS:
        return date + dt.timedelta(days=_DAYS[frequency])
    if frequency in _MONTHS:
        return add_months(date, _MONTHS[frequency], anchor_day)
    raise ValueError(f"unknown frequency {frequency!r}")


def nth_date(start, frequency, n):
    """The n-th date after start (0: start itself), computed from start, so a month-end
    anchor never drifts: the 31st stays the 31st wherever the month allows it."""
    if frequency in _DAYS:
        return start + dt.timedelta(days=_DAYS[frequency] * n)
    if frequency in _MONTHS:
        return add_months(start, _MONTHS[frequency] * n)
    raise ValueError(f"unknown frequency {frequency!r}")


def zone(company):
    """The company's time zone: UTC when it has none, or one this machine's tz database lacks
    (UTC rather than a crash)."""
    try:
        return zoneinfo.ZoneInfo(company.timezone) if company and company.timezone else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def today(now=None):
    """The company's date now: what "due today" means to the business, wherever the server
    runs (a UTC+14 business is a day ahead of UTC for fourteen hours of every day)."""
    import models
    now = now or models.utcnow()  # naive UTC, like every timestamp we keep
    return now.replace(tzinfo=dt.UTC).astimezone(zone(models.Company.current())).date()
