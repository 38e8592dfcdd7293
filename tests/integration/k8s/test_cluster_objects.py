"""The cluster_objects module against the real bootstrap API server, through ansible-playbook."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import pytest
from support.apiserver import BootstrapApiserver
from support.objects import EXTENSIONS_API, infrastructure
from support.playbook import APPLY, CHECK, PlaybookRunner

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient

pytestmark = pytest.mark.substrate

MODULE = "gardener.autonomous.cluster_objects"
DIFF = {"diff": True}
SECRET_TEXT = "pl41n-s3cr3t-4711-never-print"
SECRET_DATA = "b64-s3cr3t-0815-never-print"
SECRET_DATA_B64 = base64.b64encode(SECRET_DATA.encode()).decode()


class Cluster:
    """A namespace on the fixture's API server, and the module run against it."""

    def __init__(self, api: BootstrapApiserver, workdir: Path) -> None:
        self.api = api
        self.client: KubeClient = api.client
        self.namespace = api.create_namespace("objects")
        self.suffix = self.namespace.rsplit("-", 1)[1]  # unique names for cluster-scoped objects
        self.runner = PlaybookRunner(
            workdir, {"group/gardener.autonomous.kubernetes": {"kubeconfig": str(api.kubeconfig_path)}}
        )

    def run(self, *steps: tuple[dict[str, Any], dict[str, Any]]) -> list[dict[str, Any]]:
        return self.runner.run(MODULE, *steps)

    def get(self, definition: dict[str, Any]) -> Optional[dict[str, Any]]:
        metadata = definition["metadata"]
        return self.client.get(
            definition["apiVersion"], definition["kind"], metadata["name"], metadata.get("namespace")
        )

    def addon(self, image: str = "localhost/agent:v1", value: str = "1") -> list[dict[str, Any]]:
        """A ConfigMap, RBAC and a DaemonSet, as an add-on ships them."""
        ns = self.namespace
        role = f"agent-{self.suffix}"
        return [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "agent", "namespace": ns},
                "data": {"v": value},
            },
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "agent", "namespace": ns}},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": role},
                "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": role},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": ns}],
            },
            daemonset("agent", ns, image),
        ]


def daemonset(name: str, namespace: str, image: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"serviceAccountName": name, "containers": [{"name": "agent", "image": image}]},
            },
        },
    }


@pytest.fixture
def cluster(bootstrap_apiserver: BootstrapApiserver, tmp_path: Path) -> Cluster:
    return Cluster(bootstrap_apiserver, tmp_path)


def actions(result: dict[str, Any]) -> list[str]:
    return [entry["action"] for entry in result["results"]]


def versions(cluster: Cluster, definitions: list[dict[str, Any]]) -> list[str]:
    return [cluster.get(definition)["metadata"]["resourceVersion"] for definition in definitions]


def test_check_apply_and_idempotence(cluster: Cluster) -> None:
    definitions = cluster.addon()
    args = {"definitions": definitions}
    check, apply, idempotence_check, idempotence = cluster.run(
        (args, CHECK), (args, APPLY), (args, CHECK), (args, APPLY)
    )

    assert not any(result.get("failed") for result in (check, apply, idempotence_check, idempotence)), (
        cluster.runner.output
    )
    assert check["changed"] is True
    assert actions(check) == ["created"] * 5
    assert apply["changed"] is True
    assert actions(apply) == ["created"] * 5
    assert idempotence_check["changed"] is False
    assert actions(idempotence_check) == ["unchanged"] * 5
    assert idempotence["changed"] is False
    assert actions(idempotence) == ["unchanged"] * 5
    assert apply["results"][0] == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "agent",
        "namespace": cluster.namespace,
        "action": "created",
    }
    assert apply["results"][2]["namespace"] is None  # ClusterRole
    assert all(isinstance(result["duration"], float) for result in (check, apply))
    assert "diff" not in apply

    daemon = cluster.get(definitions[4])
    assert daemon["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost/agent:v1"
    assert [entry["manager"] for entry in daemon["metadata"]["managedFields"]] == ["gardener.autonomous"]
    # Nothing was written by the idempotent runs: no churn for watchers.
    before = versions(cluster, definitions)
    cluster.run((args, APPLY))
    assert versions(cluster, definitions) == before


def test_check_mode_writes_nothing(cluster: Cluster) -> None:
    definitions = cluster.addon()
    (check,) = cluster.run(({"definitions": definitions}, {**CHECK, **DIFF}))
    assert check["changed"] is True
    assert all(cluster.get(definition) is None for definition in definitions)
    # The dry run went through the API: the "after" carries what the API fills in.
    after = check["diff"][4]["after"]
    assert after["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert check["diff"][4]["before"] == {}


def test_a_changed_field_is_updated_with_a_diff(cluster: Cluster) -> None:
    cluster.run(({"definitions": cluster.addon()}, APPLY))
    changed = {"definitions": cluster.addon(image="localhost/agent:v2", value="2")}
    check, apply, again = cluster.run(
        (changed, {**CHECK, **DIFF}), (changed, {**APPLY, **DIFF}), (changed, {**APPLY, **DIFF})
    )

    for result in (check, apply):
        assert result["changed"] is True
        assert actions(result) == ["updated", "unchanged", "unchanged", "unchanged", "updated"]
        config_map, daemon = result["diff"][0], result["diff"][4]
        assert config_map["before"]["data"] == {"v": "1"}
        assert config_map["after"]["data"] == {"v": "2"}
        assert daemon["before"]["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost/agent:v1"
        assert daemon["after"]["spec"]["template"]["spec"]["containers"][0]["image"] == "localhost/agent:v2"
        assert daemon["after_header"] == f"definitions[4] (DaemonSet {cluster.namespace}/agent)"
        assert "managedFields" not in json.dumps(result["diff"])
    assert again["changed"] is False
    assert all(entry["before"] == entry["after"] for entry in again["diff"])
    assert cluster.get(cluster.addon()[0])["data"] == {"v": "2"}
    # The generation moved once, for the one real update.
    assert cluster.get(cluster.addon()[4])["metadata"]["generation"] == 2


def test_a_field_left_out_is_removed(cluster: Cluster) -> None:
    config_map = cluster.addon()[0]
    config_map["data"] = {"v": "1", "old": "x"}
    cluster.run(({"definitions": [config_map]}, APPLY))
    config_map["data"] = {"v": "1"}
    (apply,) = cluster.run(({"definitions": [config_map]}, APPLY))
    assert actions(apply) == ["updated"]
    assert cluster.get(config_map)["data"] == {"v": "1"}


def test_patched_never_creates_and_warns(cluster: Cluster) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"missing-{cluster.suffix}", "labels": {"a": "b"}}}
    args = {"state": "patched", "definitions": [node]}
    check, apply = cluster.run((args, CHECK), (args, APPLY))

    for result in (check, apply):
        assert result["changed"] is False
        assert actions(result) == ["absent"]
        assert any(f"Node missing-{cluster.suffix}" in warning for warning in result["warnings"])
    assert cluster.get(node) is None


def test_patched_changes_an_existing_object_once(cluster: Cluster) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": cluster.namespace}}
    labelled = {**namespace, "metadata": {"name": cluster.namespace, "labels": {"gardener.cloud/purpose": "test"}}}
    args = {"state": "patched", "definitions": [labelled]}
    check, apply, again_check, again = cluster.run((args, CHECK), (args, APPLY), (args, CHECK), (args, APPLY))

    assert check["changed"] is True
    assert actions(check) == ["patched"]
    assert apply["changed"] is True
    assert actions(apply) == ["patched"]
    assert again_check["changed"] is False
    assert again["changed"] is False
    assert actions(again) == ["unchanged"]
    assert cluster.get(namespace)["metadata"]["labels"]["gardener.cloud/purpose"] == "test"
    # A merge patch with null removes the key.
    removal = {**namespace, "metadata": {"name": cluster.namespace, "labels": {"gardener.cloud/purpose": None}}}
    (removed,) = cluster.run(({"state": "patched", "definitions": [removal]}, APPLY))
    assert actions(removed) == ["patched"]
    assert "gardener.cloud/purpose" not in (cluster.get(namespace)["metadata"].get("labels") or {})


def test_absent_deletes_and_waits(cluster: Cluster) -> None:
    definitions = cluster.addon()
    cluster.run(({"definitions": definitions}, APPLY))
    args = {"state": "absent", "wait": True, "definitions": definitions}
    check, apply, again_check, again = cluster.run((args, CHECK), (args, APPLY), (args, CHECK), (args, APPLY))

    assert check["changed"] is True
    assert actions(check) == ["deleted"] * 5
    assert apply["changed"] is True
    assert actions(apply) == ["deleted"] * 5
    assert again_check["changed"] is False
    assert again["changed"] is False
    assert actions(again) == ["absent"] * 5
    assert all(cluster.get(definition) is None for definition in definitions)


def test_absent_in_check_mode_deletes_nothing(cluster: Cluster) -> None:
    definitions = cluster.addon()[:1]
    cluster.run(({"definitions": definitions}, APPLY))
    (check,) = cluster.run(({"state": "absent", "definitions": definitions}, {**CHECK, **DIFF}))
    assert actions(check) == ["deleted"]
    assert check["diff"][0]["after"] == {}
    assert check["diff"][0]["before"]["data"] == {"v": "1"}
    assert cluster.get(definitions[0]) is not None


def test_secret_values_never_appear(cluster: Cluster) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "credentials", "namespace": cluster.namespace},
        "stringData": {"password": SECRET_TEXT},
        "data": {"token": SECRET_DATA_B64},
    }
    args = {"definitions": [secret]}
    changed = {"definitions": [{**secret, "stringData": {"password": SECRET_TEXT + "-2"}}]}
    check, apply, update, absent = cluster.run(
        (args, {**CHECK, **DIFF}),
        (args, {**APPLY, **DIFF}),
        (changed, {**APPLY, **DIFF}),
        ({"state": "absent", "definitions": [secret]}, {**APPLY, **DIFF}),
    )

    assert actions(check) == ["created"]
    assert actions(apply) == ["created"]
    assert actions(update) == ["updated"]
    assert actions(absent) == ["deleted"]
    assert apply["diff"][0]["after"]["data"] == {"password": "<hidden>", "token": "<hidden>"}
    assert update["diff"][0]["before"]["data"] == {"password": "<hidden>", "token": "<hidden>"}
    assert absent["diff"][0]["before"]["data"] == {"password": "<hidden>", "token": "<hidden>"}
    everything = json.dumps([check, apply, update, absent]) + cluster.runner.output
    stored = base64.b64encode(SECRET_TEXT.encode()).decode()
    for value in (SECRET_TEXT, SECRET_DATA_B64, SECRET_DATA, stored):
        assert value not in everything


def test_the_invocation_masks_only_secret_values(cluster: Cluster, tmp_path: Path) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "credentials", "namespace": cluster.namespace},
        "stringData": {"password": SECRET_TEXT},
    }
    (tmp_path / "vvv").mkdir()
    verbose = PlaybookRunner(tmp_path / "vvv", cluster.runner.module_defaults, verbosity=3)
    (apply,) = verbose.run(MODULE, ({"definitions": [secret]}, APPLY))

    assert actions(apply) == ["created"]
    invocation = verbose.output[verbose.output.index("invocation:") :]  # -vvv prints it (as YAML)
    assert SECRET_TEXT not in verbose.output
    assert "password: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in invocation
    # The rest stays readable: names, kinds and the kubeconfig path are no secrets.
    assert "name: credentials" in invocation
    assert f"kubeconfig: {cluster.api.kubeconfig_path}" in invocation


def test_a_kubeconfig_dict_keeps_its_credentials_out_of_the_output(cluster: Cluster, tmp_path: Path) -> None:
    config_map = cluster.addon()[0]
    (tmp_path / "vvv").mkdir()
    verbose = PlaybookRunner(tmp_path / "vvv", verbosity=3)
    (apply,) = verbose.run(MODULE, ({"definitions": [config_map], "kubeconfig": cluster.api.kubeconfig}, APPLY))

    assert actions(apply) == ["created"], verbose.output
    user = cluster.api.kubeconfig["users"][0]["user"]
    everything = json.dumps(apply) + verbose.output
    assert user["client-key-data"] not in everything
    assert user["client-certificate-data"] not in everything
    invocation = verbose.output[verbose.output.index("invocation:") :]  # -vvv prints it (as YAML)
    assert "client-key-data: VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in invocation
    assert f"server: {cluster.api.server}" in invocation


def test_an_unknown_field_fails_with_the_apis_message(cluster: Cluster) -> None:
    config_map = cluster.addon()[0]
    bad = infrastructure("infra", cluster.namespace)
    bad["spec"]["unknownField"] = "x"
    (result,) = cluster.run(({"definitions": [config_map, bad]}, APPLY))

    assert result["failed"] is True
    assert f"definitions[1] (Infrastructure {cluster.namespace}/infra)" in result["msg"]
    assert ".spec.unknownField: field not declared in schema" in result["msg"]
    assert actions(result) == ["created"]  # what was done before the failure
    assert cluster.get(config_map) is not None
    assert cluster.client.get(EXTENSIONS_API, "Infrastructure", "infra", cluster.namespace) is None


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}},
            "definitions[1] (ConfigMap x): ConfigMap is namespaced, metadata.namespace is required",
        ),
        (
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "x", "namespace": "default"}},
            "definitions[1] (Node default/x): Node is cluster-scoped, remove metadata.namespace",
        ),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}, "definitions[1] needs metadata.name"),
        ({"kind": "ConfigMap", "metadata": {"name": "x"}}, "definitions[1] needs apiVersion"),
        (
            {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "x"}},
            "definitions[1]: the Kubernetes API server",
        ),
    ],
)
def test_a_bad_definition_fails_before_anything_is_written(
    cluster: Cluster, definition: dict[str, Any], message: str
) -> None:
    config_map = cluster.addon()[0]
    (result,) = cluster.run(({"definitions": [config_map, definition]}, APPLY))
    assert result["failed"] is True
    assert message in result["msg"]
    assert result["results"] == []
    assert cluster.get(config_map) is None


def test_a_conflict_names_the_option_that_resolves_it(cluster: Cluster) -> None:
    config_map = cluster.addon()[0]
    cluster.client.apply(config_map, field_manager="someone-else")
    ours = {**config_map, "data": {"v": "mine"}}
    failed, forced = cluster.run(
        ({"definitions": [ours]}, APPLY), ({"definitions": [ours], "force_conflicts": True}, APPLY)
    )

    assert failed["failed"] is True
    assert "conflict" in failed["msg"]
    assert "someone-else" in failed["msg"]
    assert "force_conflicts" in failed["msg"]
    assert actions(forced) == ["updated"]
    assert cluster.get(config_map)["data"] == {"v": "mine"}


def test_wait_for_a_daemonset_rollout(cluster: Cluster) -> None:
    definition = daemonset("agent", cluster.namespace, "localhost/agent:v1")

    def controller() -> None:
        # Stands in for kube-controller-manager: reports the rollout once the DaemonSet exists.
        with cluster.api.new_client() as client:
            deadline = time.monotonic() + 30
            while client.get("apps/v1", "DaemonSet", "agent", cluster.namespace) is None:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            time.sleep(1.0)
            status = {
                "observedGeneration": 1,
                "desiredNumberScheduled": 2,
                "currentNumberScheduled": 2,
                "updatedNumberScheduled": 2,
                "numberAvailable": 2,
                "numberReady": 2,
                "numberMisscheduled": 0,
            }
            client.merge_patch(
                "apps/v1", "DaemonSet", "agent", {"status": status}, cluster.namespace, subresource="status"
            )

    thread = threading.Thread(target=controller)
    thread.start()
    try:
        (result,) = cluster.run(({"definitions": [definition], "wait": True, "wait_timeout": 60}, APPLY))
    finally:
        thread.join(timeout=60)
    assert result.get("failed") is not True, result.get("msg")
    assert actions(result) == ["created"]
    assert result["duration"] >= 1.0


def test_wait_times_out_naming_the_object_and_the_reason(cluster: Cluster) -> None:
    definition = daemonset("agent", cluster.namespace, "localhost/agent:v1")
    (result,) = cluster.run(({"definitions": [definition], "wait": True, "wait_timeout": 2}, APPLY))

    assert result["failed"] is True
    assert f"definitions[0] (DaemonSet {cluster.namespace}/agent)" in result["msg"]
    assert "has not observed generation 1" in result["msg"]
    assert actions(result) == ["created"]
    assert 2 <= result["duration"] < 20


def test_a_crd_and_its_objects_in_one_task(cluster: Cluster) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.example.com"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}},
                        }
                    },
                }
            ],
        },
    }
    widget = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": cluster.namespace},
        "spec": {"size": 3},
    }
    new_namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{cluster.namespace}-new"}}
    in_new_namespace = {**cluster.addon()[0], "metadata": {"name": "agent", "namespace": f"{cluster.namespace}-new"}}
    args = {"definitions": [crd, widget, new_namespace, in_new_namespace]}
    check, apply, again = cluster.run((args, CHECK), (args, APPLY), (args, APPLY))

    assert check.get("failed") is not True, check.get("msg")
    assert actions(check) == ["created"] * 4
    assert any("its CustomResourceDefinition is only created by this task" in warning for warning in check["warnings"])
    assert any(f"its Namespace {cluster.namespace}-new" in warning for warning in check["warnings"])
    assert apply.get("failed") is not True, apply.get("msg")
    assert actions(apply) == ["created"] * 4
    assert actions(again) == ["unchanged"] * 4
    assert cluster.client.get(f"{group}/v1", "Widget", "w", cluster.namespace)["spec"] == {"size": 3}
