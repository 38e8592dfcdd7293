"""The node_drain module against the real bootstrap API server, through ansible-playbook.

There is no kubelet and no kube-controller-manager: pods are bound to a Node object by
spec.nodeName and marked Running by the test, evictions need grace_period 0 to remove a pod at
once, and a PodDisruptionBudget's status is never computed, so it refuses every eviction of a
Running pod it selects.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Optional

import pytest
from support.apiserver import BootstrapApiserver
from support.playbook import APPLY, CHECK, PlaybookRunner

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient

pytestmark = pytest.mark.substrate

MODULE = "gardener.autonomous.node_drain"


class Site:
    """A Node object, a namespace for its pods, and the module run against them."""

    def __init__(self, api: BootstrapApiserver, workdir: Path) -> None:
        self.client: KubeClient = api.client
        self.node = f"node-{uuid.uuid4().hex[:8]}"
        self.client.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node}})
        self.namespace = api.create_namespace("drain")
        # No kube-controller-manager creates the default ServiceAccount, which admission requires.
        self.client.apply(
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": self.namespace}}
        )
        self.runner = PlaybookRunner(
            workdir, {"group/gardener.autonomous.kubernetes": {"kubeconfig": str(api.kubeconfig_path)}}
        )

    def run(self, *steps: tuple[dict[str, Any], dict[str, Any]]) -> list[dict[str, Any]]:
        return self.runner.run(MODULE, *[({"name": self.node, **args}, keywords) for args, keywords in steps])

    def pod(
        self,
        name: str,
        owner_kind: Optional[str] = "ReplicaSet",
        *,
        labels: Optional[dict[str, str]] = None,
        annotations: Optional[dict[str, str]] = None,
        empty_dir: bool = False,
        phase: str = "Running",
    ) -> str:
        """A pod bound to the node; returns namespace/name."""
        metadata: dict[str, Any] = {"name": name, "namespace": self.namespace, "labels": labels or {"app": name}}
        if owner_kind:
            metadata["ownerReferences"] = [
                {
                    "apiVersion": "apps/v1",
                    "kind": owner_kind,
                    "name": f"{name}-owner",
                    "uid": str(uuid.uuid4()),
                    "controller": True,
                }
            ]
        if annotations:
            metadata["annotations"] = annotations
        spec: dict[str, Any] = {
            "nodeName": self.node,
            "automountServiceAccountToken": False,
            "containers": [{"name": "main", "image": "localhost/app:v1"}],
        }
        if empty_dir:
            spec["volumes"] = [{"name": "scratch", "emptyDir": {}}]
        self.client.apply({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
        # The eviction API ignores budgets for Pending pods: make it Running, as a kubelet would.
        status = {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}
        self.client.merge_patch("v1", "Pod", name, {"status": status}, self.namespace, subresource="status")
        return f"{self.namespace}/{name}"

    def exists(self, name: str) -> bool:
        return self.client.get("v1", "Pod", name, self.namespace) is not None

    def unschedulable(self) -> bool:
        return bool(self.client.get("v1", "Node", self.node)["spec"].get("unschedulable"))


@pytest.fixture
def site(bootstrap_apiserver: BootstrapApiserver, tmp_path: Path) -> Site:
    return Site(bootstrap_apiserver, tmp_path)


def test_check_drain_and_idempotence(site: Site) -> None:
    web = site.pod("web")
    done = site.pod("job", owner_kind="Job", phase="Succeeded")
    daemon = site.pod("agent", owner_kind="DaemonSet")
    mirror = site.pod("kube-apiserver", owner_kind=None, annotations={"kubernetes.io/config.mirror": "0123abcd"})
    args = {"grace_period": 0, "timeout": 30}
    check, drain, again_check, again = site.run((args, CHECK), (args, APPLY), (args, CHECK), (args, APPLY))

    skipped = [
        {"pod": daemon, "reason": "managed by DaemonSet agent-owner"},
        {"pod": mirror, "reason": "mirror pod of a static pod"},
    ]
    assert check["changed"] is True
    assert sorted(check["evicted"]) == sorted([web, done])
    assert sorted(check["skipped_pods"], key=str) == sorted(skipped, key=str)
    assert check["deleted"] is False
    assert drain["changed"] is True, drain.get("msg")
    assert "skipped" not in drain  # Ansible would count the task as skipped, not changed
    assert "changed: [localhost]" in site.runner.output
    assert sorted(drain["evicted"]) == sorted([web, done])
    assert sorted(drain["skipped_pods"], key=str) == sorted(skipped, key=str)
    assert again_check["changed"] is False
    assert again["changed"] is False
    assert again["evicted"] == []
    assert sorted(again["skipped_pods"], key=str) == sorted(skipped, key=str)

    assert site.unschedulable()
    assert not site.exists("web")
    assert not site.exists("job")
    assert site.exists("agent")
    assert site.exists("kube-apiserver")


def test_check_mode_changes_nothing(site: Site) -> None:
    web = site.pod("web")
    (check,) = site.run(({"grace_period": 0}, CHECK))
    assert check["changed"] is True
    assert check["evicted"] == [web]
    assert not site.unschedulable()
    assert site.exists("web")


def test_local_storage_and_unmanaged_pods_are_refused_before_the_cordon(site: Site) -> None:
    cache = site.pod("cache", empty_dir=True)
    lonely = site.pod("lonely", owner_kind=None)
    web = site.pod("web")
    refused, allowed = site.run(
        ({"grace_period": 0}, APPLY),
        ({"grace_period": 0, "delete_emptydir_data": True, "force": True}, APPLY),
    )

    assert refused["failed"] is True
    assert refused["changed"] is False
    assert (
        f"cannot evict pods with local storage (emptyDir), allowed by delete_emptydir_data: {cache}" in refused["msg"]
    )
    assert f"cannot evict pods without a controller, allowed by force: {lonely}" in refused["msg"]
    assert refused["evicted"] == []
    assert allowed.get("failed") is not True, allowed.get("msg")
    assert sorted(allowed["evicted"]) == sorted([cache, lonely, web])
    assert any(lonely in warning and "nothing re-creates them" in warning for warning in allowed["warnings"])
    assert site.unschedulable()
    assert not any(site.exists(name) for name in ("cache", "lonely", "web"))


def test_a_disruption_budget_blocks_until_the_timeout(site: Site) -> None:
    guarded = site.pod("guarded", labels={"app": "guarded"})
    free = site.pod("free", labels={"app": "free"})
    site.client.apply(
        {
            "apiVersion": "policy/v1beta1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "guard", "namespace": site.namespace},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}},
        }
    )
    (result,) = site.run(({"grace_period": 0, "timeout": 3}, APPLY))

    assert result["failed"] is True
    assert result["changed"] is True  # cordoned, one pod evicted
    assert f"pod {guarded}: Cannot evict pod as it would violate the pod's disruption budget." in result["msg"]
    assert "The disruption budget guard" in result["msg"]
    assert "gave up evicting after 3s" in result["msg"]
    assert result["evicted"] == [free]
    assert 3 <= result["duration"] < 15
    assert site.unschedulable()
    assert site.exists("guarded")
    assert not site.exists("free")


def test_evicted_pods_are_waited_for(site: Site) -> None:
    web = site.pod("web")
    # Without grace_period 0 the pod waits for its kubelet, which does not exist here.
    (result,) = site.run(({"timeout": 2}, APPLY))

    assert result["failed"] is True
    assert result["evicted"] == [web]
    assert f"pod {web} is not gone after 2s" in result["msg"]
    assert "deletion requested at" in result["msg"]
    assert site.client.get("v1", "Pod", "web", site.namespace)["metadata"]["deletionTimestamp"]


def test_delete_node(site: Site) -> None:
    web = site.pod("web")
    daemon = site.pod("agent", owner_kind="DaemonSet")
    args = {"grace_period": 0, "delete_node": True}
    check, delete, again = site.run((args, CHECK), (args, APPLY), (args, APPLY))

    assert check["changed"] is True
    assert check["deleted"] is True
    assert delete["changed"] is True
    assert delete["deleted"] is True
    assert delete["evicted"] == [web]
    assert delete["skipped_pods"] == [{"pod": daemon, "reason": "managed by DaemonSet agent-owner"}]
    assert site.client.get("v1", "Node", site.node) is None
    assert again["changed"] is False
    assert again["deleted"] is False


def test_uncordon(site: Site) -> None:
    site.run(({"grace_period": 0}, APPLY))
    args = {"state": "uncordoned"}
    check, uncordon, again = site.run((args, CHECK), (args, APPLY), (args, APPLY))

    assert check["changed"] is True
    assert uncordon["changed"] is True
    assert again["changed"] is False
    assert not site.unschedulable()


def test_a_missing_node_fails_unless_it_was_to_be_deleted(site: Site) -> None:
    missing = {"name": f"missing-{uuid.uuid4().hex[:8]}"}
    drained, uncordoned, deleted, both = site.runner.run(
        MODULE,
        (missing, APPLY),
        ({**missing, "state": "uncordoned"}, APPLY),
        ({**missing, "delete_node": True}, APPLY),
        ({**missing, "delete_node": True, "state": "uncordoned"}, APPLY),
    )
    assert drained["failed"] is True
    assert f"node {missing['name']} does not exist" in drained["msg"]
    assert uncordoned["failed"] is True
    assert deleted.get("failed") is not True
    assert deleted["changed"] is False
    assert both["failed"] is True
    assert "delete_node needs state=drained" in both["msg"]
