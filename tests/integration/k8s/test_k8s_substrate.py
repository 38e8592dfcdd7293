"""The test substrate itself: the right kube-apiserver, healthy, able to store custom resources, and with
kube-controller-manager when asked for: deleted namespaces go away and owned objects are collected."""

from __future__ import annotations

import http.client
import ssl
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support import apiserver
from support.apiserver import BootstrapApiserver, SubstrateMissing, binaries
from support.objects import EXTENSIONS_API, infrastructure

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import EXTENSION_KINDS
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import absent
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter

pytestmark = pytest.mark.substrate

# "Within a few seconds": the namespace controller waits a fixed 5 s after the deletion (namespaceDeletionGracePeriod,
# for HA API servers) and then takes well under a second; the garbage collector acts at once.
CLEANUP_SECONDS = 10.0


def _get(api: BootstrapApiserver, path: str) -> tuple[int, str]:
    url = urlsplit(api.server)
    tls = ssl.create_default_context(cadata=api.ca_pem)
    connection = http.client.HTTPSConnection(url.hostname, url.port, context=tls, timeout=10)
    try:
        connection.request("GET", path, headers={"Authorization": f"Bearer {api.token}"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_kube_apiserver_is_v1_20_2() -> None:
    version = subprocess.run(
        [str(binaries()["kube-apiserver"]), "--version"], capture_output=True, text=True, check=True, timeout=30
    )
    assert version.stdout.strip() == "Kubernetes v1.20.2"


def test_readyz_is_ok(bootstrap_apiserver: BootstrapApiserver) -> None:
    assert _get(bootstrap_apiserver, "/readyz") == (200, "ok")


def test_a_custom_resource_can_be_written(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    # The vendored reflect2 of v1.20.2 crashed the API server on the first custom resource write.
    client = bootstrap_apiserver.client
    created = client.create(infrastructure("smoke", namespace))
    assert created["metadata"]["uid"]
    assert client.get(EXTENSIONS_API, "Infrastructure", "smoke", namespace)["spec"]["region"] == "local"
    assert _get(bootstrap_apiserver, "/readyz") == (200, "ok")


def test_extension_kinds_are_the_served_crds_with_the_common_status(bootstrap_apiserver: BootstrapApiserver) -> None:
    crds = bootstrap_apiserver.client.list("apiextensions.k8s.io/v1", "CustomResourceDefinition")["items"]
    with_last_operation = {
        crd["spec"]["names"]["kind"]
        for crd in crds
        if crd["spec"]["group"] == "extensions.gardener.cloud"
        for version in crd["spec"]["versions"]
        if "lastOperation" in version["schema"]["openAPIV3Schema"]["properties"].get("status", {}).get("properties", {})
    }
    assert with_last_operation == set(EXTENSION_KINDS)


def test_missing_binaries_are_named_with_the_script_that_builds_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apiserver, "CACHE_DIR", tmp_path)
    with pytest.raises(SubstrateMissing, match=r"kube-apiserver is missing .*: run hack/build-kubernetes\.sh first"):
        binaries()
    kube_apiserver = tmp_path / "kubernetes" / "v1.20.2" / "bin" / "kube-apiserver"
    kube_apiserver.parent.mkdir(parents=True)
    kube_apiserver.write_text("#!/bin/sh\n")
    kube_apiserver.chmod(0o755)
    with pytest.raises(SubstrateMissing, match=r"etcd is missing .*: run hack/build-bundle\.sh first"):
        binaries()
    etcd = tmp_path / "bundle" / "bin" / "etcd"
    etcd.parent.mkdir(parents=True)
    etcd.write_text("#!/bin/sh\n")
    etcd.chmod(0o755)
    (tmp_path / "bundle-dir").write_text(f"{tmp_path / 'bundle'}\n")
    with pytest.raises(
        SubstrateMissing, match=r"kube-controller-manager is missing .*: run hack/build-kubernetes\.sh first"
    ):
        binaries()


def test_a_deleted_namespace_goes_away_with_its_objects(
    bootstrap_apiserver_with_controllers: BootstrapApiserver,
) -> None:
    api = bootstrap_apiserver_with_controllers
    namespace = api.create_namespace("doomed")
    api.client.create(config_map("settings", namespace))
    api.client.create(infrastructure("doomed", namespace))  # no finalizers: nothing but the namespace controller acts

    api.client.delete("v1", "Namespace", namespace)
    gone = Waiter(api.client, absent).wait("v1", "Namespace", namespace, timeout=CLEANUP_SECONDS)

    assert gone.ok, gone.reason
    assert api.client.get("v1", "ConfigMap", "settings", namespace) is None
    assert api.client.get(EXTENSIONS_API, "Infrastructure", "doomed", namespace) is None


def test_objects_whose_owner_is_deleted_are_collected(bootstrap_apiserver_with_controllers: BootstrapApiserver) -> None:
    api = bootstrap_apiserver_with_controllers
    namespace = api.create_namespace()
    owner = api.client.create(config_map("owner", namespace))
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    dependent_config_map = config_map("dependent", namespace)
    dependent_config_map["metadata"]["ownerReferences"] = [reference]
    api.client.create(dependent_config_map)
    dependent_infrastructure = infrastructure("dependent", namespace)
    dependent_infrastructure["metadata"]["ownerReferences"] = [reference]
    api.client.create(dependent_infrastructure)  # a custom resource: the collector knows the CRDs

    api.client.delete("v1", "ConfigMap", "owner", namespace)
    waiter = Waiter(api.client, absent)

    assert waiter.wait("v1", "ConfigMap", "dependent", namespace, timeout=CLEANUP_SECONDS).ok
    assert waiter.wait(EXTENSIONS_API, "Infrastructure", "dependent", namespace, timeout=CLEANUP_SECONDS).ok


def config_map(name: str, namespace: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}}
