# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Drains a node as ``kubectl drain`` does, the runner behind the ``node_drain`` module.

Cordon, then evict every pod through the Eviction API, so that PodDisruptionBudgets are
respected (a refused eviction, 429, is retried until the timeout), then wait until the evicted pods
are gone. Mirror pods of static pods and DaemonSet pods are skipped: their kubelet or controller
would only put them back. Pods with emptyDir data or without a controller are refused unless
``delete_emptydir_data`` or ``force`` allow them, before anything changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient, KubeObject
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import ApiError, KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import (
    READY,
    Predicate,
    Verdict,
    absent,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter, WaitTimeout

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
FINISHED_PHASES = ("Succeeded", "Failed")
EVICTION_RETRY_PAUSE = 2.0  # after an eviction a PodDisruptionBudget refused (kubectl waits 5 s)
LOCAL_STORAGE = "with local storage (emptyDir), allowed by delete_emptydir_data"
UNMANAGED = "without a controller, allowed by force"


@dataclass(frozen=True)
class DrainOptions:
    timeout: float
    grace_period: Optional[int]  # None: each pod's own terminationGracePeriodSeconds
    force: bool
    delete_emptydir_data: bool
    delete_node: bool
    check_mode: bool


@dataclass
class DrainReport:
    changed: bool = False
    evicted: List[str] = field(default_factory=list)  # namespace/name
    skipped: List[Dict[str, str]] = field(default_factory=list)  # {pod, reason}
    deleted: bool = False
    warnings: List[str] = field(default_factory=list)

    def result(self) -> Dict[str, Any]:
        # Not "skipped": Ansible reads a true "skipped" in any result as "the task was skipped".
        return {
            "changed": self.changed,
            "evicted": self.evicted,
            "skipped_pods": self.skipped,
            "deleted": self.deleted,
        }


class DrainFailed(KubeError):
    """Stopped before the node was drained; ``report`` holds what was done."""

    def __init__(self, message: str, report: DrainReport) -> None:
        super().__init__(message)
        self.report = report


class EvictionRefused(KubeError):
    """429: a PodDisruptionBudget allows no disruption now; the message names the pod and the budget."""


class PodPlan(NamedTuple):
    evict: List[KubeObject]
    skipped: List[Dict[str, str]]
    refused: Dict[str, List[str]]  # what needs an option -> pods
    forced: List[str]  # pods without a controller that force lets go


def pod_name(pod: Mapping[str, Any]) -> str:
    metadata = pod.get("metadata") or {}
    return f"{metadata.get('namespace')}/{metadata.get('name')}"


def classify(pods: List[KubeObject], *, force: bool, delete_emptydir_data: bool) -> PodPlan:
    """kubectl drain's filters, in its order: DaemonSet and mirror pods are skipped, finished pods
    evicted without further checks, local storage and missing controllers need an option."""
    plan = PodPlan([], [], {}, [])
    for pod in pods:
        name = pod_name(pod)
        metadata = pod.get("metadata") or {}
        controller = _controller(metadata)
        if controller and controller.get("kind") == "DaemonSet":
            plan.skipped.append({"pod": name, "reason": f"managed by DaemonSet {controller.get('name')}"})
            continue
        if MIRROR_ANNOTATION in (metadata.get("annotations") or {}):
            plan.skipped.append({"pod": name, "reason": "mirror pod of a static pod"})
            continue
        if (pod.get("status") or {}).get("phase") not in FINISHED_PHASES:
            needs = [LOCAL_STORAGE] if _has_local_storage(pod) and not delete_emptydir_data else []
            if controller is None and not force:
                needs.append(UNMANAGED)
            for what in needs:
                plan.refused.setdefault(what, []).append(name)
            if needs:
                continue
            if controller is None:
                plan.forced.append(name)
        plan.evict.append(pod)
    return plan


def _controller(metadata: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    for owner in metadata.get("ownerReferences") or []:
        if owner.get("controller"):
            return owner
    return None


def _has_local_storage(pod: Mapping[str, Any]) -> bool:
    return any("emptyDir" in volume for volume in (pod.get("spec") or {}).get("volumes") or [])


def refusal(plan: PodPlan) -> str:
    return "; ".join(f"cannot evict pods {what}: {', '.join(pods)}" for what, pods in plan.refused.items())


def gone_or_replaced(uid: str) -> Predicate:
    """The evicted pod is gone; one of the same name with another uid (a StatefulSet's) is a new pod."""

    def predicate(obj: Optional[Mapping[str, Any]]) -> Verdict:
        if obj is None or (obj.get("metadata") or {}).get("uid") != uid:
            return Verdict(READY)
        return absent(obj)

    return predicate


def eviction_api_version(client: KubeClient) -> str:
    """policy/v1 where served (1.22+), else policy/v1beta1: the API names it in the pods/eviction entry."""
    for entry in client.api_resources("v1"):
        if entry.get("name") == "pods/eviction":
            return f"{entry.get('group') or 'policy'}/{entry.get('version') or 'v1beta1'}"
    raise KubeError(f"the Kubernetes API server {client.server} does not serve pods/eviction")


class Drainer:
    def __init__(
        self, client: KubeClient, node: str, options: DrainOptions, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._node = node
        self._options = options
        self._clock = clock
        self._deadline = clock() + options.timeout
        self.report = DrainReport()

    def drain(self) -> DrainReport:
        """Cordons, evicts, waits, deletes the Node when asked; raises DrainFailed with the report."""
        try:
            self._drain()
        except DrainFailed:
            raise
        except KubeError as error:
            raise DrainFailed(str(error), self.report) from None
        return self.report

    def _drain(self) -> None:
        node = self._client.get("v1", "Node", self._node)
        if node is None:
            if self._options.delete_node:
                return  # deleted before: the end state already
            raise KubeError(f"node {self._node} does not exist")
        # Checked before the cordon, so that a refusal leaves the node as it was.
        plan = self._plan()
        self._cordon(node)
        if not self._options.check_mode:
            plan = self._plan()  # pods bound between the first look and the cordon
        if plan.forced:
            self.report.warnings.append(
                f"evicting pods without a controller; nothing re-creates them: {', '.join(plan.forced)}"
            )
        if self._options.check_mode:
            self.report.evicted = [pod_name(pod) for pod in plan.evict]
            self.report.changed = self.report.changed or bool(plan.evict)
        else:
            evicted = self._evict(plan.evict)
            self._wait_gone(evicted)
        if self._options.delete_node:
            self.report.deleted = self._client.delete("v1", "Node", self._node, dry_run=self._options.check_mode)
            self.report.changed = self.report.changed or self.report.deleted

    def _plan(self) -> PodPlan:
        listing = self._client.list("v1", "Pod", field_selector={"spec.nodeName": self._node})
        plan = classify(
            listing.get("items") or [],
            force=self._options.force,
            delete_emptydir_data=self._options.delete_emptydir_data,
        )
        self.report.skipped = plan.skipped
        if plan.refused:
            cordoned = " (the node stays cordoned)" if self.report.changed else ""
            raise DrainFailed(f"node {self._node}{cordoned}: {refusal(plan)}", self.report)
        return plan

    def _cordon(self, node: Mapping[str, Any]) -> None:
        if (node.get("spec") or {}).get("unschedulable"):
            return
        patch = {"spec": {"unschedulable": True}}
        self._client.merge_patch("v1", "Node", self._node, patch, dry_run=self._options.check_mode)
        self.report.changed = True

    def _evict(self, pods: List[KubeObject]) -> List[KubeObject]:
        """Evicts every pod, retrying those a PodDisruptionBudget protects; returns the evicted ones."""
        api_version = eviction_api_version(self._client)
        pending = list(pods)
        evicted: List[KubeObject] = []
        while True:
            refusals: List[str] = []
            for pod in list(pending):
                try:
                    if self._evict_one(pod, api_version):
                        evicted.append(pod)
                        self.report.evicted.append(pod_name(pod))
                        self.report.changed = True
                    pending.remove(pod)
                except EvictionRefused as refused:
                    refusals.append(str(refused))
            if not pending:
                return evicted
            remaining = self._deadline - self._clock()
            if remaining <= 0:
                raise KubeError(
                    f"node {self._node} is cordoned, but gave up evicting after {self._options.timeout:g}s: "
                    + "; ".join(refusals)
                )
            time.sleep(min(EVICTION_RETRY_PAUSE, remaining))

    def _evict_one(self, pod: KubeObject, api_version: str) -> bool:
        """True when evicted, False when the pod was gone already; EvictionRefused for a 429."""
        metadata = pod["metadata"]
        eviction: Dict[str, Any] = {
            "apiVersion": api_version,
            "kind": "Eviction",
            "metadata": {"name": metadata["name"], "namespace": metadata["namespace"]},
        }
        if self._options.grace_period is not None:
            eviction["deleteOptions"] = {"gracePeriodSeconds": self._options.grace_period}
        try:
            self._client.create_subresource(
                "v1", "Pod", metadata["name"], eviction, metadata["namespace"], subresource="eviction"
            )
        except ApiError as error:
            if error.status == 404:
                return False
            if error.status == 429:  # a PodDisruptionBudget allows no disruption now
                causes = f" ({'; '.join(error.causes)})" if error.causes else ""
                raise EvictionRefused(f"pod {pod_name(pod)}: {error.message}{causes}") from None
            raise KubeError(f"pod {pod_name(pod)}: eviction failed: {error}") from None
        return True

    def _wait_gone(self, pods: List[KubeObject]) -> None:
        for pod in pods:
            metadata = pod["metadata"]
            waiter = Waiter(self._client, gone_or_replaced(metadata["uid"]), self._clock)
            try:
                waiter.wait(
                    "v1", "Pod", metadata["name"], metadata["namespace"], max(0.0, self._deadline - self._clock())
                )
            except WaitTimeout as error:
                raise KubeError(
                    f"node {self._node} is cordoned and its pods evicted, but pod {pod_name(pod)} is not gone "
                    f"after {self._options.timeout:g}s: {error.reason}"
                ) from None


def uncordon(client: KubeClient, node: str, check_mode: bool) -> DrainReport:
    report = DrainReport()
    live = client.get("v1", "Node", node)
    if live is None:
        raise KubeError(f"node {node} does not exist")
    if (live.get("spec") or {}).get("unschedulable"):
        client.merge_patch("v1", "Node", node, {"spec": {"unschedulable": None}}, dry_run=check_mode)
        report.changed = True
    return report
