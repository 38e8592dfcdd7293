"""Generic waiter predicates (plugins/module_utils/_k8s/predicates.py)."""

from __future__ import annotations

from typing import Any, Optional

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    READY,
    READY_PREDICATES,
    WAIT,
    Verdict,
    absent,
    condition,
    node_ready,
)


def node(*conditions: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "cp-0"},
        "status": {"conditions": list(conditions)},
    }


@pytest.mark.parametrize(
    ("obj", "verdict"),
    [
        (None, Verdict(READY)),
        ({"metadata": {"name": "x"}}, Verdict(WAIT, "the object still exists and is not being deleted")),
        (
            {"metadata": {"name": "x", "deletionTimestamp": "2026-08-21T10:00:00Z"}},
            Verdict(WAIT, "deletion requested at 2026-08-21T10:00:00Z"),
        ),
        (
            {
                "metadata": {
                    "deletionTimestamp": "2026-08-21T10:00:00Z",
                    "finalizers": ["extensions.gardener.cloud/local", "x"],
                }
            },
            Verdict(
                WAIT,
                "deletion requested at 2026-08-21T10:00:00Z, finalizers pending: extensions.gardener.cloud/local, x",
            ),
        ),
    ],
)
def test_absent(obj: Optional[dict[str, Any]], verdict: Verdict) -> None:
    assert absent(obj) == verdict


@pytest.mark.parametrize(
    ("obj", "verdict"),
    [
        (None, Verdict(WAIT, "the node is not registered")),
        (node(), Verdict(WAIT, "the node reports no Ready condition yet")),
        (node({"type": "MemoryPressure", "status": "False"}), Verdict(WAIT, "the node reports no Ready condition yet")),
        (node({"type": "Ready", "status": "True", "reason": "KubeletReady"}), Verdict(READY)),
        (
            node(
                {"type": "Ready", "status": "False", "reason": "KubeletNotReady", "message": "network plugin not ready"}
            ),
            Verdict(WAIT, "Ready is False (KubeletNotReady: network plugin not ready)"),
        ),
        (node({"type": "Ready", "status": "Unknown"}), Verdict(WAIT, "Ready is Unknown")),
    ],
)
def test_node_ready(obj: Optional[dict[str, Any]], verdict: Verdict) -> None:
    assert node_ready(obj) == verdict


def test_condition_lookup() -> None:
    ready = {"type": "Ready", "status": "True"}
    assert condition(node({"type": "DiskPressure", "status": "False"}, ready), "Ready") is ready
    assert condition({"metadata": {}}, "Ready") is None


def test_registry_by_kind() -> None:
    assert READY_PREDICATES["Node"] is node_ready  # the other kinds: test_k8s_rollout_predicates.py
