"""RFC 3339 times as the API writes them (plugins/module_utils/_k8s/timestamps.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import (
    format_rfc3339,
    format_rfc3339_nano,
    parse_rfc3339,
)

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-21T10:00:00Z", datetime(2026, 8, 21, 10, 0, 0, tzinfo=UTC)),
        ("2026-08-21T10:00:00.5Z", datetime(2026, 8, 21, 10, 0, 0, 500000, tzinfo=UTC)),
        # Nanoseconds are truncated to microseconds, never rounded up into the next second.
        ("2026-08-21T10:00:00.999999999Z", datetime(2026, 8, 21, 10, 0, 0, 999999, tzinfo=UTC)),
        ("2026-08-21T12:30:00+02:30", datetime(2026, 8, 21, 10, 0, 0, tzinfo=UTC)),
        ("2026-08-21T23:00:00.25-01:00", datetime(2026, 8, 22, 0, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_parse(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected
    assert parse_rfc3339(text).tzinfo == UTC


@pytest.mark.parametrize(
    "text",
    ["", "2026-08-21", "2026-08-21 10:00:00Z", "2026-08-21T10:00:00", "2026-08-21T10:00:00.Z", "2026-13-01T00:00:00Z"],
)
def test_parse_refuses_what_is_not_rfc3339(text: str) -> None:
    with pytest.raises(ValueError, match="is not an RFC 3339 time"):
        parse_rfc3339(text)


def test_parse_refuses_a_missing_value() -> None:
    with pytest.raises(ValueError, match="None is not an RFC 3339 time"):
        parse_rfc3339(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("moment", "nano", "seconds"),
    [
        (datetime(2026, 8, 21, 10, 0, 0, tzinfo=UTC), "2026-08-21T10:00:00Z", "2026-08-21T10:00:00Z"),
        (datetime(2026, 8, 21, 10, 0, 0, 120000, tzinfo=UTC), "2026-08-21T10:00:00.12Z", "2026-08-21T10:00:00Z"),
        (datetime(2026, 8, 21, 10, 0, 0, 1, tzinfo=UTC), "2026-08-21T10:00:00.000001Z", "2026-08-21T10:00:00Z"),
        (
            datetime(2026, 8, 21, 12, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2))),
            "2026-08-21T10:00:00.999999Z",
            "2026-08-21T10:00:00Z",
        ),
    ],
)
def test_format(moment: datetime, nano: str, seconds: str) -> None:
    assert format_rfc3339_nano(moment) == nano
    assert format_rfc3339(moment) == seconds
    assert parse_rfc3339(nano) == moment


def test_format_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_rfc3339_nano(datetime(2026, 8, 21, 10, 0, 0))
