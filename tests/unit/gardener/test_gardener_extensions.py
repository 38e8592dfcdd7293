"""Gardener's extension readiness rule and operation annotations (plugins/module_utils/_gardener/extensions.py)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import (
    EXTENSION_KINDS,
    OPERATION_ANNOTATION,
    READY_PREDICATES,
    TIMESTAMP_ANNOTATION,
    extension_migrated,
    extension_ready,
    operation_annotations,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import FAILED, READY, WAIT, Verdict


def extension(
    *,
    generation: int = 2,
    observed: Optional[int] = 2,
    annotations: Optional[dict[str, str]] = None,
    operation: Optional[dict[str, Any]] = None,
    last_error: Optional[dict[str, Any]] = None,
    updated: str = "2026-08-21T10:00:05Z",
) -> dict[str, Any]:
    """A reconciled Infrastructure; keyword arguments spoil it one way at a time."""
    status: dict[str, Any] = {
        "lastOperation": operation
        if operation is not None
        else {"type": "Reconcile", "state": "Succeeded", "progress": 100, "lastUpdateTime": updated},
    }
    if observed is not None:
        status["observedGeneration"] = observed
    if last_error is not None:
        status["lastError"] = last_error
    metadata: dict[str, Any] = {"name": "root", "namespace": "kube-system", "generation": generation}
    if annotations is not None:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "extensions.gardener.cloud/v1alpha1",
        "kind": "Infrastructure",
        "metadata": metadata,
        "status": status,
    }


def stamped(timestamp: str, updated: str = "2026-08-21T10:00:05Z") -> dict[str, Any]:
    return extension(annotations={TIMESTAMP_ANNOTATION: timestamp}, updated=updated)


UNAUTHORIZED = {"description": "credentials rejected", "codes": ["ERR_INFRA_UNAUTHORIZED", "ERR_CONFIGURATION_PROBLEM"]}


@pytest.mark.parametrize(
    ("obj", "verdict"),
    [
        (None, Verdict(WAIT, "the object does not exist")),
        (extension(), Verdict(READY)),
        # lastError comes first and ends the wait, whatever else the object says.
        (
            extension(last_error=UNAUTHORIZED, observed=1),
            Verdict(
                FAILED,
                "error during reconciliation: credentials rejected"
                " (codes: ERR_INFRA_UNAUTHORIZED, ERR_CONFIGURATION_PROBLEM)",
            ),
        ),
        (extension(last_error={"description": "boom"}), Verdict(FAILED, "error during reconciliation: boom")),
        (extension(observed=1), Verdict(WAIT, "observed generation outdated (1/2)")),
        (extension(observed=None), Verdict(WAIT, "observed generation outdated (0/2)")),
        (
            {"metadata": {"name": "new", "generation": 1}},
            Verdict(WAIT, "observed generation outdated (0/1)"),
        ),
        (
            extension(annotations={OPERATION_ANNOTATION: "reconcile"}),
            Verdict(WAIT, "gardener operation 'reconcile' is not yet picked up"),
        ),
        (extension(operation={}), Verdict(WAIT, "the extension did not record a last operation yet")),
        (
            extension(operation={"type": "Reconcile", "state": "Processing", "lastUpdateTime": "2026-08-21T10:00:05Z"}),
            Verdict(WAIT, "extension state is not Succeeded but Processing"),
        ),
        # An Error state without lastError is not a failure yet: gardener keeps waiting too.
        (
            extension(operation={"type": "Reconcile", "state": "Error", "lastUpdateTime": "2026-08-21T10:00:05Z"}),
            Verdict(WAIT, "extension state is not Succeeded but Error"),
        ),
    ],
)
def test_readiness_rule(obj: Optional[dict[str, Any]], verdict: Verdict) -> None:
    assert extension_ready(obj) == verdict


@pytest.mark.parametrize(
    ("timestamp", "updated", "ready"),
    [
        ("2026-08-21T10:00:05Z", "2026-08-21T10:00:05Z", True),  # equal
        ("2026-08-21T10:00:04Z", "2026-08-21T10:00:05Z", True),  # older request
        # Truncation: the request's fraction is dropped before comparing with whole-second times.
        ("2026-08-21T10:00:05.999999999Z", "2026-08-21T10:00:05Z", True),
        ("2026-08-21T10:00:05.000000001Z", "2026-08-21T10:00:05Z", True),
        ("2026-08-21T10:00:06Z", "2026-08-21T10:00:05Z", False),
        ("2026-08-21T10:00:06.000000001Z", "2026-08-21T10:00:05Z", False),
        ("2026-08-21T10:00:05.5Z", "2026-08-21T10:00:04.999Z", False),  # a fractional update time counts exactly
        ("2026-08-21T10:00:05.5Z", "2026-08-21T10:00:05.000001Z", True),
        # Offsets are compared as instants.
        ("2026-08-21T12:00:05.9+02:00", "2026-08-21T10:00:05Z", True),
        ("2026-08-21T09:00:06-01:00", "2026-08-21T10:00:05Z", False),
        # Across a day boundary.
        ("2026-08-21T23:59:59.999999999Z", "2026-08-21T23:59:59Z", True),
        ("2026-08-22T00:00:00Z", "2026-08-21T23:59:59Z", False),
    ],
)
def test_timestamp_is_truncated_to_the_second(timestamp: str, updated: str, ready: bool) -> None:
    verdict = extension_ready(stamped(timestamp, updated))
    assert (verdict.state == READY) is ready, verdict.reason
    if not ready:
        assert verdict.reason.startswith("extension is not reconciled yet: requested at ")


def test_outdated_reason_names_both_times() -> None:
    assert extension_ready(stamped("2026-08-21T10:00:06.7Z")) == Verdict(
        WAIT, "extension is not reconciled yet: requested at 2026-08-21T10:00:06Z, last update at 2026-08-21T10:00:05Z"
    )


def test_unparseable_timestamp_keeps_waiting() -> None:
    assert extension_ready(stamped("yesterday")) == Verdict(
        WAIT, "cannot parse gardener.cloud/timestamp annotation: 'yesterday' is not an RFC 3339 time"
    )


def test_timestamp_without_update_time_keeps_waiting() -> None:
    obj = stamped("2026-08-21T10:00:05Z")
    del obj["status"]["lastOperation"]["lastUpdateTime"]
    assert extension_ready(obj) == Verdict(WAIT, "the last operation has no valid lastUpdateTime")


def test_no_timestamp_annotation_accepts_any_update_time() -> None:
    assert extension_ready(extension(updated="2000-01-01T00:00:00Z")) == Verdict(READY)


def test_predicate_does_not_modify_the_object() -> None:
    obj = stamped("2026-08-21T10:00:06Z")
    before = copy.deepcopy(obj)
    extension_ready(obj)
    assert obj == before


@pytest.mark.parametrize(
    ("operation", "now", "expected_timestamp"),
    [
        ("reconcile", datetime(2026, 8, 21, 10, 0, 0, 123456, tzinfo=timezone.utc), "2026-08-21T10:00:00.123456Z"),
        ("migrate", datetime(2026, 8, 21, 10, 0, 0, tzinfo=timezone.utc), "2026-08-21T10:00:00Z"),
        (
            "restore",
            datetime(2026, 8, 21, 12, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2))),
            "2026-08-21T10:00:00.5Z",
        ),
        ("wait-for-state", datetime(2026, 8, 21, 10, 0, 0, 10, tzinfo=timezone.utc), "2026-08-21T10:00:00.00001Z"),
    ],
)
def test_operation_annotations(operation: str, now: datetime, expected_timestamp: str) -> None:
    assert operation_annotations(operation, now) == {
        "gardener.cloud/operation": operation,
        "gardener.cloud/timestamp": expected_timestamp,
    }


def test_operation_annotations_round_trip_with_the_readiness_rule() -> None:
    now = datetime(2026, 8, 21, 10, 0, 5, 999999, tzinfo=timezone.utc)
    annotations = operation_annotations("reconcile", now)
    del annotations[OPERATION_ANNOTATION]  # picked up by the controller
    obj = extension(annotations=annotations, updated="2026-08-21T10:00:05Z")
    assert extension_ready(obj) == Verdict(READY)


def test_operation_annotations_refuse_unknown_operations_and_naive_times() -> None:
    with pytest.raises(ValueError, match="unknown gardener operation 'delete'"):
        operation_annotations("delete", datetime.now(timezone.utc))
    with pytest.raises(ValueError, match="naive"):
        operation_annotations("reconcile", datetime(2026, 8, 21))


@pytest.mark.parametrize(
    ("obj", "verdict"),
    [
        (None, Verdict(READY)),  # gone: nothing left to migrate
        (
            extension(operation={"type": "Migrate", "state": "Succeeded", "lastUpdateTime": "2026-08-21T10:00:05Z"}),
            Verdict(READY),
        ),
        (
            extension(
                annotations={OPERATION_ANNOTATION: "migrate"},
                operation={"type": "Migrate", "state": "Succeeded", "lastUpdateTime": "2026-08-21T10:00:05Z"},
            ),
            Verdict(WAIT, "gardener operation 'migrate' is not yet removed"),
        ),
        (
            extension(annotations={OPERATION_ANNOTATION: "migrate"}),
            Verdict(WAIT, "migration not finished, last operation: Reconcile Succeeded"),
        ),
        (
            extension(operation={"type": "Migrate", "state": "Processing"}),
            Verdict(WAIT, "migration not finished, last operation: Migrate Processing"),
        ),
        (extension(operation={}), Verdict(WAIT, "migration not finished, last operation: none")),
        # A failed migration is retried by the controller: keep waiting, but say why.
        (
            extension(operation={"type": "Migrate", "state": "Error"}, last_error={"description": "state too big"}),
            Verdict(
                WAIT,
                "migration not finished, last operation: Migrate Error; error during reconciliation: state too big",
            ),
        ),
    ],
)
def test_migrated(obj: Optional[dict[str, Any]], verdict: Verdict) -> None:
    assert extension_migrated(obj) == verdict


def test_registry_covers_every_extension_kind_but_cluster() -> None:
    assert set(READY_PREDICATES) == set(EXTENSION_KINDS)
    assert "Cluster" not in READY_PREDICATES
    assert all(predicate is extension_ready for predicate in READY_PREDICATES.values())
