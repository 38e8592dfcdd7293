"""The client against a real kube-apiserver v1.20.2 with Gardener's CRDs."""

from __future__ import annotations

import base64
import copy
import time
from contextlib import closing

import pytest
from support.apiserver import BootstrapApiserver, Pki
from support.objects import EXTENSIONS_API, extension_status, infrastructure
from support.tcp_proxy import TcpProxy

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import (
    APPLY_PATCH,
    JSON,
    MERGE_PATCH,
    KubeClient,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiError,
    ApiUnreachable,
    KindNotServed,
    KubeError,
    ResourceExpired,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.kubeconfig import ClientConfig

pytestmark = pytest.mark.substrate


def _resource_version(obj: dict) -> str:
    return obj["metadata"]["resourceVersion"]


def test_client_from_kubeconfig_path_and_dict(bootstrap_apiserver: BootstrapApiserver) -> None:
    for source in (bootstrap_apiserver.kubeconfig_path, str(bootstrap_apiserver.kubeconfig_path)):
        with KubeClient.from_kubeconfig(source) as client:
            assert client.server == bootstrap_apiserver.server
            assert client.get("v1", "Namespace", "default")["metadata"]["name"] == "default"
    with KubeClient.from_kubeconfig(bootstrap_apiserver.kubeconfig, context="bootstrap") as client:
        assert client.get("v1", "Namespace", "kube-system")["metadata"]["name"] == "kube-system"


def test_discovery_resolves_core_and_custom_kinds(bootstrap_apiserver: BootstrapApiserver) -> None:
    client = bootstrap_apiserver.new_client()
    assert client.resource_for("v1", "Namespace").plural == "namespaces"
    assert not client.resource_for("v1", "Namespace").namespaced
    worker = client.resource_for(EXTENSIONS_API, "Worker")
    assert (worker.plural, worker.namespaced) == ("workers", True)
    assert client.object_path(EXTENSIONS_API, "Worker", "w", "ns", "status") == (
        "/apis/extensions.gardener.cloud/v1alpha1/namespaces/ns/workers/w/status"
    )
    assert client.object_path(EXTENSIONS_API, "Cluster", "shoot--a--b") == (
        "/apis/extensions.gardener.cloud/v1alpha1/clusters/shoot--a--b"
    )
    with pytest.raises(KindNotServed, match=r"does not serve kind Bogus in extensions\.gardener\.cloud/v1alpha1"):
        client.resource_for(EXTENSIONS_API, "Bogus")
    with pytest.raises(KindNotServed):
        client.resource_for("no.such.group/v1", "Thing")


def test_discovery_is_cached_per_client(bootstrap_apiserver: BootstrapApiserver, wire: list) -> None:
    client = bootstrap_apiserver.new_client()
    client.resource_for(EXTENSIONS_API, "Infrastructure")
    client.resource_for(EXTENSIONS_API, "Worker")
    client.object_path(EXTENSIONS_API, "DNSRecord", "x", "ns")
    assert [request.url for request in wire] == ["/apis/extensions.gardener.cloud/v1alpha1"]


def test_create_get_delete(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    assert client.get(EXTENSIONS_API, "Infrastructure", "infra", namespace) is None
    created = client.create(infrastructure("infra", namespace))
    assert created["metadata"]["generation"] == 1
    assert (
        client.get(EXTENSIONS_API, "Infrastructure", "infra", namespace)["metadata"]["uid"]
        == (created["metadata"]["uid"])
    )
    with pytest.raises(ApiError) as conflict:
        client.create(infrastructure("infra", namespace))
    assert (conflict.value.status, conflict.value.reason) == (409, "AlreadyExists")
    assert client.delete(EXTENSIONS_API, "Infrastructure", "infra", namespace)
    assert client.get(EXTENSIONS_API, "Infrastructure", "infra", namespace) is None
    assert client.delete(EXTENSIONS_API, "Infrastructure", "infra", namespace) is False


def test_delete_sends_the_propagation_policy(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    client.create(infrastructure("foreground", namespace))
    assert client.delete(EXTENSIONS_API, "Infrastructure", "foreground", namespace, propagation_policy="Foreground")
    # Without a garbage collector (no kube-controller-manager) the finalizer stays: proof it was asked for.
    pending = client.get(EXTENSIONS_API, "Infrastructure", "foreground", namespace)
    assert pending["metadata"]["deletionTimestamp"]
    assert pending["metadata"]["finalizers"] == ["foregroundDeletion"]


def test_apply_is_idempotent_and_updates(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    first = client.apply(infrastructure("applied", namespace))
    again = client.apply(infrastructure("applied", namespace))
    assert _resource_version(again) == _resource_version(first)
    changed = infrastructure("applied", namespace)
    changed["spec"]["region"] = "elsewhere"
    updated = client.apply(changed)
    assert updated["spec"]["region"] == "elsewhere"
    assert _resource_version(updated) != _resource_version(first)
    assert updated["metadata"]["generation"] == 2
    managers = {entry["manager"] for entry in updated["metadata"]["managedFields"]}
    assert managers == {"gardener.autonomous"}


def test_apply_conflicts_with_another_manager_unless_forced(
    bootstrap_apiserver: BootstrapApiserver, namespace: str
) -> None:
    client = bootstrap_apiserver.client
    client.apply(infrastructure("contested", namespace), field_manager="someone-else")
    changed = infrastructure("contested", namespace)
    changed["spec"]["region"] = "mine"
    with pytest.raises(ApiError) as conflict:
        client.apply(changed)
    assert conflict.value.status == 409
    assert "spec.region" in str(conflict.value)
    assert client.apply(changed, force=True)["spec"]["region"] == "mine"


def test_merge_patch_of_object_and_status(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    client.create(infrastructure("patched", namespace, annotations={"gardener.cloud/operation": "reconcile"}))
    patched = client.merge_patch(
        EXTENSIONS_API,
        "Infrastructure",
        "patched",
        {"metadata": {"annotations": {"gardener.cloud/operation": None, "note": "kept"}}},
        namespace,
    )
    assert patched["metadata"]["annotations"] == {"note": "kept"}
    # Status is a subresource: the main resource ignores it, the status subresource takes it.
    ignored = client.merge_patch(
        EXTENSIONS_API, "Infrastructure", "patched", extension_status("Succeeded", 1), namespace
    )
    assert "status" not in ignored
    with_status = client.merge_patch(
        EXTENSIONS_API, "Infrastructure", "patched", extension_status("Succeeded", 1), namespace, subresource="status"
    )
    assert with_status["status"]["lastOperation"]["state"] == "Succeeded"
    assert client.get(EXTENSIONS_API, "Infrastructure", "patched", namespace)["status"]["observedGeneration"] == 1


def test_dry_run_persists_nothing(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    would_create = client.create(infrastructure("dry", namespace), dry_run=True)
    assert would_create["metadata"]["name"] == "dry"
    assert client.apply(infrastructure("dry", namespace), dry_run=True)["spec"]["type"] == "local"
    assert client.get(EXTENSIONS_API, "Infrastructure", "dry", namespace) is None

    original = client.apply(infrastructure("dry", namespace))
    change = {"spec": {"region": "elsewhere"}}
    assert client.merge_patch(EXTENSIONS_API, "Infrastructure", "dry", change, namespace, dry_run=True)["spec"][
        "region"
    ] == ("elsewhere")
    applied = infrastructure("dry", namespace)
    applied["spec"]["region"] = "also-elsewhere"
    client.apply(applied, dry_run=True)
    assert client.delete(EXTENSIONS_API, "Infrastructure", "dry", namespace, dry_run=True)
    current = client.get(EXTENSIONS_API, "Infrastructure", "dry", namespace)
    assert current["spec"]["region"] == "local"
    assert _resource_version(current) == _resource_version(original)


def test_unknown_field_is_rejected_by_the_real_schema(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    bogus = infrastructure("bogus", namespace)
    bogus["spec"]["bogusField"] = "nope"
    with pytest.raises(ApiError) as rejected:
        bootstrap_apiserver.client.apply(bogus)
    assert ".spec.bogusField: field not declared in schema" in str(rejected.value)
    assert rejected.value.method == "PATCH"
    assert rejected.value.path.endswith(f"/namespaces/{namespace}/infrastructures/bogus")


def test_list_with_label_and_field_selectors(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    for name, pool in (("a", "blue"), ("b", "green")):
        manifest = infrastructure(name, namespace)
        manifest["metadata"]["labels"] = {"pool": pool}
        client.create(manifest)
    listing = client.list(EXTENSIONS_API, "Infrastructure", namespace)
    assert sorted(item["metadata"]["name"] for item in listing["items"]) == ["a", "b"]
    assert listing["metadata"]["resourceVersion"]
    by_label = client.list(EXTENSIONS_API, "Infrastructure", namespace, label_selector={"pool": "green"})
    assert [item["metadata"]["name"] for item in by_label["items"]] == ["b"]
    by_field = client.list(EXTENSIONS_API, "Infrastructure", namespace, field_selector="metadata.name=a")
    assert [item["metadata"]["name"] for item in by_field["items"]] == ["a"]
    everywhere = client.list(EXTENSIONS_API, "Infrastructure", label_selector="pool in (blue,green)")
    assert {item["metadata"]["namespace"] for item in everywhere["items"]} == {namespace}


def test_watch_replays_changes_since_a_version(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    since = client.list(EXTENSIONS_API, "Infrastructure", namespace)["metadata"]["resourceVersion"]
    client.create(infrastructure("watched", namespace))
    client.merge_patch(EXTENSIONS_API, "Infrastructure", "watched", {"spec": {"region": "r2"}}, namespace)
    client.delete(EXTENSIONS_API, "Infrastructure", "watched", namespace)
    events = []
    for event_type, obj in client.watch(EXTENSIONS_API, "Infrastructure", namespace, resource_version=since, timeout=5):
        if event_type != "BOOKMARK":
            events.append((event_type, obj["spec"]["region"]))
        if event_type == "DELETED":
            break
    assert events == [("ADDED", "local"), ("MODIFIED", "r2"), ("DELETED", "r2")]


def test_watch_ends_when_its_time_is_up(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    client = bootstrap_apiserver.client
    started = time.monotonic()
    events = list(
        client.watch(EXTENSIONS_API, "Infrastructure", namespace, field_selector="metadata.name=x", timeout=1)
    )
    elapsed = time.monotonic() - started
    assert [event for event in events if event[0] != "BOOKMARK"] == []
    assert 0.9 < elapsed < 2.5


def test_watch_from_a_compacted_version_raises_expired(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    with pytest.raises(ResourceExpired) as expired:
        list(bootstrap_apiserver.client.watch(EXTENSIONS_API, "Infrastructure", namespace, resource_version="1"))
    assert expired.value.status == 410


def test_only_json_apply_and_merge_patch_content_types_are_sent(
    bootstrap_apiserver: BootstrapApiserver, namespace: str, wire: list
) -> None:
    client = bootstrap_apiserver.new_client()
    client.create(infrastructure("typed", namespace))
    client.apply(infrastructure("typed", namespace))
    client.merge_patch(EXTENSIONS_API, "Infrastructure", "typed", {"spec": {"region": "r"}}, namespace)
    client.merge_patch(
        EXTENSIONS_API, "Infrastructure", "typed", extension_status("Processing", 1), namespace, subresource="status"
    )
    client.get(EXTENSIONS_API, "Infrastructure", "typed", namespace)
    with closing(client.watch(EXTENSIONS_API, "Infrastructure", namespace, resource_version="0")) as events:
        assert next(events)[0] == "ADDED"
    client.delete(EXTENSIONS_API, "Infrastructure", "typed", namespace)
    sent = [(request.method, request.headers.get("content-type")) for request in wire]
    assert sent == [
        ("GET", None),  # discovery
        ("POST", JSON),
        ("PATCH", APPLY_PATCH),
        ("PATCH", MERGE_PATCH),
        ("PATCH", MERGE_PATCH),
        ("GET", None),
        ("GET", None),  # watch
        ("DELETE", JSON),
    ]
    assert all("strategic" not in str(request.headers) for request in wire)


def test_wrong_ca_is_unreachable_naming_the_server(bootstrap_apiserver: BootstrapApiserver, tmp_path) -> None:
    kubeconfig = copy.deepcopy(bootstrap_apiserver.kubeconfig)
    other_ca = Pki(tmp_path).ca_pem
    kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(other_ca.encode()).decode()
    with pytest.raises(ApiUnreachable) as unreachable:
        KubeClient.from_kubeconfig(kubeconfig).get("v1", "Namespace", "default")
    message = str(unreachable.value)
    assert bootstrap_apiserver.server in message
    assert "CERTIFICATE_VERIFY_FAILED" in message


def test_namespaced_objects_need_a_namespace(bootstrap_apiserver: BootstrapApiserver) -> None:
    homeless = infrastructure("homeless", "x")
    del homeless["metadata"]["namespace"]
    with pytest.raises(KubeError, match=r"Infrastructure homeless is namespaced: metadata\.namespace is required"):
        bootstrap_apiserver.client.create(homeless)
    with pytest.raises(KubeError, match="Infrastructure homeless is namespaced: a namespace is required"):
        bootstrap_apiserver.client.apply(homeless)


def test_token_client(bootstrap_apiserver: BootstrapApiserver) -> None:
    config = ClientConfig(
        server=bootstrap_apiserver.server, ca_data=bootstrap_apiserver.ca_pem, token=bootstrap_apiserver.token
    )
    with KubeClient(config) as client:
        assert client.get("v1", "Namespace", "default")["metadata"]["name"] == "default"
    wrong = ClientConfig(
        server=bootstrap_apiserver.server, ca_data=bootstrap_apiserver.ca_pem, token="wrong-secret-token"
    )
    with pytest.raises(ApiError) as denied:
        KubeClient(wrong).get("v1", "Namespace", "default")
    assert (denied.value.status, denied.value.reason) == (401, "Unauthorized")
    assert "wrong-secret-token" not in str(denied.value)
    assert "wrong-secret-token" not in repr(wrong)


def test_tls_server_name_and_insecure_skip_verify(bootstrap_apiserver: BootstrapApiserver) -> None:
    api = bootstrap_apiserver
    by_name = ClientConfig(server=api.server, ca_data=api.ca_pem, token=api.token, tls_server_name="localhost")
    assert KubeClient(by_name).get("v1", "Namespace", "default")
    wrong_name = ClientConfig(server=api.server, ca_data=api.ca_pem, token=api.token, tls_server_name="elsewhere")
    with pytest.raises(ApiUnreachable, match="elsewhere"):
        KubeClient(wrong_name).get("v1", "Namespace", "default")
    unverified = ClientConfig(server=api.server, token=api.token, validate_certs=False)
    assert KubeClient(unverified).get("v1", "Namespace", "default")


def test_reconnects_after_the_connection_broke(bootstrap_apiserver: BootstrapApiserver) -> None:
    api = bootstrap_apiserver
    with TcpProxy(int(api.server.rsplit(":", 1)[1])) as proxy:
        config = ClientConfig(server=f"https://127.0.0.1:{proxy.port}", ca_data=api.ca_pem, token=api.token)
        with KubeClient(config) as client:
            assert client.get("v1", "Namespace", "default")
            assert client.get("v1", "Namespace", "kube-system")
            assert proxy.accepted == 1  # one persistent connection
            proxy.drop_connections()
            assert client.get("v1", "Namespace", "default")
            assert proxy.accepted == 2
