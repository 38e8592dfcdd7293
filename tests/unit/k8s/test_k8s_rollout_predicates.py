"""Readiness predicates per kind (plugins/module_utils/_k8s/predicates.py), judged on fixtures of
objects as the API returns them (fixtures/rollouts.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    READY_PREDICATES,
    WAIT,
    Verdict,
    crd_established,
    daemonset_ready,
    deployment_ready,
    exists,
    node_ready,
    ready_predicate,
)

FIXTURES = yaml.safe_load((Path(__file__).parent / "fixtures" / "rollouts.yml").read_text())


@pytest.mark.parametrize("fixture", FIXTURES, ids=[fixture["name"] for fixture in FIXTURES])
def test_readiness_of_fixture(fixture: dict[str, Any]) -> None:
    obj = fixture["object"]
    assert ready_predicate(obj["kind"])(obj) == Verdict(*fixture["verdict"])


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("Deployment", "the deployment does not exist"),
        ("DaemonSet", "the daemonset does not exist"),
        ("CustomResourceDefinition", "the custom resource definition does not exist"),
        ("Node", "the node is not registered"),
        ("ConfigMap", "the object does not exist"),
    ],
)
def test_a_missing_object_is_waited_for(kind: str, reason: str) -> None:
    assert ready_predicate(kind)(None) == Verdict(WAIT, reason)


def test_registry_by_kind() -> None:
    assert {
        "Node": node_ready,
        "Deployment": deployment_ready,
        "DaemonSet": daemonset_ready,
        "CustomResourceDefinition": crd_established,
    } == READY_PREDICATES
    assert ready_predicate("Secret") is exists
