"""One local site for the whole end-to-end session: 3 control-plane machines and 2 workers behind a bastion,
brought up from nothing by the site tooling and the main playbook (first run at -vvv), then run again and
in check mode. Every test reads the same live cluster; tests that change it come last (file order)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from e2e import localsite as e2e


@dataclass
class BroughtUp:
    kernel_before: dict[str, str]
    first: e2e.Run
    second: e2e.Run
    check: e2e.Run


@pytest.fixture(scope="session")
def brought_up() -> Iterator[BroughtUp]:
    kernel_before = e2e.kernel_settings()
    e2e.local_site("absent")  # a site left over by an interrupted session
    created = e2e.local_site("present")
    assert created.returncode == 0, created.output[-3000:]
    try:
        first = e2e.site_playbook("-vvv", "playbooks/autonomous-shoot.yml", log="first-run.log")
        assert first.returncode == 0, first.output[-5000:]
        second = e2e.site_playbook("playbooks/autonomous-shoot.yml", log="second-run.log")
        check = e2e.site_playbook("--check", "playbooks/autonomous-shoot.yml", log="check-run.log")
        timings = {
            "site_seconds": round(created.seconds, 1),
            "first_run_seconds": round(first.seconds, 1),
            "second_run_seconds": round(second.seconds, 1),
            "check_run_seconds": round(check.seconds, 1),
            "slowest_tasks_first_run": first.slowest[:10],
            "slowest_tasks_second_run": second.slowest[:10],
        }
        (e2e.OUTPUT / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
        yield BroughtUp(kernel_before, first, second, check)
    finally:
        removed = e2e.local_site("absent")
        assert removed.returncode == 0, removed.output[-3000:]
