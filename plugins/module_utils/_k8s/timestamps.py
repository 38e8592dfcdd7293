# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""RFC 3339 times as the API writes them (metav1.Time, Go's RFC3339Nano), as aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

_RFC3339 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2}))"
)


def parse_rfc3339(value: str) -> datetime:
    """Parses ``2026-08-21T10:00:00.123456789Z`` or with an offset; digits beyond microseconds are
    dropped (truncation, like Go's, never moves a time across a second boundary)."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{value!r} is not an RFC 3339 time")
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    try:
        moment = datetime.strptime(f"{match['date']}T{match['time']}.{fraction}", "%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:  # a 13th month, a 61st second ...
        raise ValueError(f"{value!r} is not an RFC 3339 time") from None
    offset = timedelta(0)
    if not match["utc"]:
        offset = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
        if match["sign"] == "-":
            offset = -offset
    return (moment - offset).replace(tzinfo=timezone.utc)


def format_rfc3339_nano(moment: datetime) -> str:
    """Formats like Go's RFC3339Nano in UTC: trailing zeros of the fraction, and a bare dot, dropped."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no defined instant: give it a timezone")
    utc = moment.astimezone(timezone.utc)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def format_rfc3339(moment: datetime) -> str:
    """Formats with whole seconds in UTC, as metav1.Time is serialized."""
    return format_rfc3339_nano(moment.replace(microsecond=0))
