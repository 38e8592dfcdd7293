"""When waiting for an extension object ends (plugins/module_utils/_gardener/extension_objects.py): Gardener's
readiness rule, except that a lastError from before the current request does not end the wait."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extension_objects import (
    Request,
    ready_for_request,
    run,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import FAILED, READY, WAIT

REQUESTED = "2026-08-21T10:00:05.987654321Z"
ERROR = {
    "description": "quota exceeded",
    "codes": ["ERR_INFRA_QUOTA_EXCEEDED"],
    "lastUpdateTime": "2026-08-21T10:00:09Z",
}


def infrastructure(
    *,
    annotations: Optional[dict[str, str]] = None,
    observed: int = 3,
    state: str = "Error",
    last_error: Optional[dict[str, Any]] = None,
) -> dict[str, Any]:
    """An Infrastructure at generation 3 requested at REQUESTED; keyword arguments change one thing."""
    status: dict[str, Any] = {
        "observedGeneration": observed,
        "lastOperation": {"type": "Reconcile", "state": state, "lastUpdateTime": "2026-08-21T10:00:09Z"},
    }
    if last_error is not None:
        status["lastError"] = last_error
    metadata = {
        "name": "root",
        "generation": 3,
        "annotations": {"gardener.cloud/timestamp": REQUESTED, **(annotations or {})},
    }
    return {"metadata": metadata, "status": status}


def test_an_error_written_after_the_request_fails_at_once() -> None:
    verdict = ready_for_request(infrastructure(last_error=ERROR))
    assert verdict.state == FAILED
    assert verdict.reason == "error during reconciliation: quota exceeded (codes: ERR_INFRA_QUOTA_EXCEEDED)"


def test_an_error_from_the_requests_second_counts_as_current() -> None:
    """Times compare to the second, as gardener's own check does."""
    same_second = {**ERROR, "lastUpdateTime": "2026-08-21T10:00:05Z"}
    assert ready_for_request(infrastructure(last_error=same_second)).state == FAILED


def test_an_error_without_times_counts_as_current() -> None:
    undated = {"description": "quota exceeded"}
    assert ready_for_request(infrastructure(last_error=undated)).state == FAILED


@pytest.mark.parametrize(
    "stale",
    [
        pytest.param({"annotations": {"gardener.cloud/operation": "reconcile"}}, id="request not picked up"),
        pytest.param({"observed": 2}, id="new generation not observed"),
        pytest.param({"state": "Processing"}, id="new attempt running"),
        pytest.param({"last_error": {**ERROR, "lastUpdateTime": "2026-08-21T10:00:04Z"}}, id="error before request"),
    ],
)
def test_an_error_from_before_the_request_keeps_waiting(stale: dict[str, Any]) -> None:
    obj = infrastructure(**{"last_error": ERROR, **stale})
    verdict = ready_for_request(obj)
    assert verdict.state == WAIT
    assert verdict.reason == (
        "the extension has not finished a new attempt yet; the last one ended in error during reconciliation: "
        "quota exceeded (codes: ERR_INFRA_QUOTA_EXCEEDED)"
    )


def test_ready_and_waiting_follow_gardeners_rule() -> None:
    assert ready_for_request(infrastructure(state="Succeeded")).state == READY
    assert ready_for_request(infrastructure(state="Succeeded", observed=2)).state == WAIT
    assert ready_for_request(None).state == WAIT


@pytest.mark.parametrize("key", ["gardener.cloud/operation", "gardener.cloud/timestamp"])
def test_the_operation_annotations_are_the_modules_own(key: str) -> None:
    request = Request(kind="Worker", namespace="shoot--garden--root", name="root", annotations={key: "x"})
    with pytest.raises(KubeError) as raised:
        run(None, request, now=datetime.now(timezone.utc), check_mode=False, diff=False)  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"Worker shoot--garden--root/root: annotations must not set {key}; the module sets them "
        "(use force_reconcile or state=migrated)"
    )
