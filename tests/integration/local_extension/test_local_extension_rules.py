"""The local extension's decisions without a cluster or Docker: which operation an object asks for, which
watch events are worth a reconcile, the work queue, and the small rules of the actuators."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Optional

import pytest
from medium_touch import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "hack" / "local-extension"))

from local_extension.bastion import check_ingress
from local_extension.contract import (
    FINALIZER,
    Cluster,
    ReconcileError,
    injected_failure,
    operation_type,
    wanted_operation,
    worth_queueing,
)
from local_extension.worker import control_plane_pool, share
from local_extension.workqueue import WorkQueue


def extension(
    *,
    operation: Optional[str] = None,
    last: Optional[tuple[str, str]] = None,
    generation: int = 1,
    observed: Optional[int] = 1,
    deleting: bool = False,
    finalizer: bool = True,
    kind_type: str = "local",
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "root", "namespace": "shoot--garden--root", "generation": generation}
    if operation:
        metadata["annotations"] = {"gardener.cloud/operation": operation}
    if deleting:
        metadata["deletionTimestamp"] = "2026-08-21T10:00:00Z"
    if finalizer:
        metadata["finalizers"] = [FINALIZER]
    status: dict[str, Any] = {}
    if last:
        status["lastOperation"] = {"type": last[0], "state": last[1]}
    if observed is not None:
        status["observedGeneration"] = observed
    return {"kind": "Worker", "metadata": metadata, "spec": {"type": kind_type}, "status": status}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (extension(observed=None), "Create"),
        (extension(last=("Create", "Error")), "Create"),
        (extension(last=("Create", "Succeeded"), operation="reconcile"), "Reconcile"),
        (extension(last=("Reconcile", "Succeeded"), generation=2), "Reconcile"),
        (extension(last=("Reconcile", "Succeeded"), operation="migrate", deleting=True), "Migrate"),
        (extension(last=("Reconcile", "Succeeded"), deleting=True), "Delete"),
        (extension(last=("Migrate", "Succeeded"), operation="restore"), "Restore"),
        (extension(last=("Restore", "Error")), "Restore"),
    ],
)
def test_the_operation_type_is_gardeners(obj: dict[str, Any], expected: str) -> None:
    assert operation_type(obj) == expected


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (extension(last=("Reconcile", "Succeeded")), None),  # at rest
        (extension(last=("Reconcile", "Succeeded"), operation="wait-for-state"), None),
        (extension(last=("Reconcile", "Succeeded"), kind_type="aws", operation="reconcile"), None),
        (extension(last=("Migrate", "Succeeded"), operation="reconcile"), None),  # migrated: left alone
        (extension(last=("Migrate", "Succeeded"), deleting=True, finalizer=False), None),
        (extension(last=("Reconcile", "Succeeded"), deleting=True, finalizer=False), None),
        (extension(last=("Migrate", "Succeeded"), operation="restore"), "Restore"),
        (extension(last=("Reconcile", "Succeeded"), deleting=True), "Delete"),
        (extension(last=("Reconcile", "Error")), "Reconcile"),  # a retry
        (extension(last=("Reconcile", "Succeeded"), generation=3, observed=2), "Reconcile"),
    ],
)
def test_what_an_object_asks_for(obj: dict[str, Any], expected: Optional[str]) -> None:
    assert wanted_operation(obj) == expected


def test_status_changes_of_our_own_work_are_not_worth_a_reconcile() -> None:
    failed = extension(last=("Reconcile", "Error"))
    assert not worth_queueing("MODIFIED", failed, previous_generation=1)  # retried with backoff instead
    assert worth_queueing("ADDED", failed, previous_generation=None)  # seen at start: retried at once
    assert worth_queueing("MODIFIED", extension(last=("Reconcile", "Succeeded"), generation=2), previous_generation=1)
    assert worth_queueing("MODIFIED", extension(last=("Reconcile", "Succeeded"), operation="reconcile"), 1)
    assert not worth_queueing("MODIFIED", extension(operation="reconcile", kind_type="aws"), 1)


def test_an_injected_failure_carries_its_code_and_description() -> None:
    failure = injected_failure("ERR_INFRA_QUOTA_EXCEEDED: quota exceeded")
    assert isinstance(failure, ReconcileError)
    assert (failure.codes, failure.description) == (["ERR_INFRA_QUOTA_EXCEEDED"], "quota exceeded")
    assert injected_failure(None) is None


def test_machines_are_spread_over_zones_as_gardener_does() -> None:
    assert [share(5, 3, index) for index in range(3)] == [2, 2, 1]
    assert [share(1, 2, index) for index in range(2)] == [1, 0]


def test_the_control_plane_pool() -> None:
    shoot = {"spec": {"provider": {"workers": [{"name": "cp", "controlPlane": {}}, {"name": "worker"}]}}}
    pools = [{"name": "cp"}, {"name": "worker"}]
    assert control_plane_pool(pools, Cluster(shoot, {})) == "cp"
    assert control_plane_pool([{"name": "worker"}, {"name": "control-plane"}], Cluster({}, {})) == "control-plane"
    labelled = [{"name": "a"}, {"name": "b", "labels": {"node-role.kubernetes.io/control-plane": ""}}]
    assert control_plane_pool(labelled, Cluster({}, {})) == "b"
    assert control_plane_pool([{"name": "only"}], Cluster({}, {})) == "only"
    assert control_plane_pool([{"name": "a"}, {"name": "b"}], Cluster({}, {})) is None


def test_bastion_ingress_must_contain_loopback() -> None:
    check_ingress([{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}])
    check_ingress([{"ipBlock": {"cidr": "127.0.0.1/32"}}])
    with pytest.raises(ReconcileError, match=r"allows 203\.0\.113\.0/24, ::/0") as failure:
        check_ingress([{"ipBlock": {"cidr": "203.0.113.0/24"}}, {"ipBlock": {"cidr": "::/0"}}])
    assert failure.value.codes == ["ERR_CONFIGURATION_PROBLEM"]


def test_the_work_queue_hands_out_a_key_once_and_again_after_a_change_during_its_work() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("a")
    queue.add("b")
    assert queue.get() == "a"
    queue.add("a")  # changed while being handled: not handed to a second worker
    assert queue.get() == "b"
    queue.done("a")
    assert queue.get() == "a"


def test_the_work_queue_delays_and_closes() -> None:
    queue = WorkQueue()
    started = time.monotonic()
    queue.add("later", delay=0.2)
    assert queue.get() == "later" and time.monotonic() - started >= 0.2
    threading.Timer(0.1, queue.close).start()
    assert queue.get() is None
