"""Offline Pod schemas per Kubernetes minor (plugins/module_utils/_k8s/pod_schema.py)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s import pod_schema, pod_schema_data

NEWEST = pod_schema.shipped_minors()[-1]
DATA_FILE = Path(pod_schema_data.__file__)


def kube_apiserver_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "kube-apiserver",
            "namespace": "kube-system",
            "labels": {"static-pod": "true", "app.kubernetes.io/name": "kube-apiserver"},
            "annotations": {"gardener.cloud/config.mirror": "0" * 64},
        },
        "spec": {
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {
                    "name": "kube-apiserver",
                    "image": "localhost/kube-apiserver:v1.20.2",
                    "imagePullPolicy": "Never",
                    "command": ["kube-apiserver", "--secure-port=443"],
                    "env": [{"name": "GOMAXPROCS", "value": "2"}],
                    "ports": [{"name": "https", "containerPort": 443, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": 2147483648}},
                    "livenessProbe": {
                        "httpGet": {"scheme": "HTTPS", "port": "https", "path": "/livez"},
                        "initialDelaySeconds": 15,
                    },
                    "readinessProbe": {"httpGet": {"scheme": "HTTPS", "port": 443, "path": "/readyz"}},
                    "volumeMounts": [{"name": "tls", "mountPath": "/srv/tls", "readOnly": True}],
                    "securityContext": {"privileged": False, "runAsUser": 0},
                }
            ],
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
            "volumes": [
                {"name": "tls", "hostPath": {"path": "/var/lib/static-pods/kube-apiserver/tls", "type": "Directory"}}
            ],
        },
    }


def with_sidecar(pod: dict[str, Any]) -> dict[str, Any]:
    pod = copy.deepcopy(pod)
    pod["spec"]["initContainers"] = [{"name": "proxy", "image": "localhost/proxy", "restartPolicy": "Always"}]
    return pod


@pytest.mark.parametrize("version", ["1.20.2", "v1.20.2", "1.28.0", NEWEST])
def test_a_valid_pod_passes(version: str) -> None:
    assert pod_schema.validate_pod(kube_apiserver_pod(), version) == []


def test_null_means_not_set() -> None:
    pod = kube_apiserver_pod()
    pod["spec"]["nodeSelector"] = None
    pod["metadata"]["annotations"] = None
    assert pod_schema.validate_pod(pod, "1.20.2") == []


@pytest.mark.parametrize("version", ["1.20.2", NEWEST])
def test_errors_name_json_paths(version: str) -> None:
    pod = kube_apiserver_pod()
    container = pod["spec"]["containers"][0]
    container["imagePullPolicyy"] = "Never"
    container["ports"][0]["containerPort"] = "443"
    container["resources"]["limits"]["cpu"] = "two"
    pod["spec"]["hostNetwork"] = "true"
    pod["spec"]["tolerations"] = {"operator": "Exists"}
    pod["metadata"]["labels"]["tier"] = 1
    del pod["spec"]["volumes"][0]["name"]
    assert sorted(pod_schema.validate_pod(pod, version)) == sorted(
        [
            "metadata.labels.tier: expected string, got integer",
            "spec.hostNetwork: expected boolean, got string",
            "spec.containers[0].imagePullPolicyy: unknown field",
            "spec.containers[0].ports[0].containerPort: expected integer, got string",
            "spec.containers[0].resources.limits.cpu: invalid quantity 'two' (expected e.g. 100m, 1.5, 64Mi, 1e3)",
            "spec.tolerations: expected array, got object",
            "spec.volumes[0].name: missing required field",
        ]
    )


def test_missing_container_name_and_containers() -> None:
    pod = kube_apiserver_pod()
    del pod["spec"]["containers"][0]["name"]
    assert pod_schema.validate_pod(pod, "1.20.2") == ["spec.containers[0].name: missing required field"]
    del pod["spec"]["containers"]
    assert pod_schema.validate_pod(pod, "1.20.2") == ["spec.containers: missing required field"]


def test_map_keys_that_are_not_identifiers_are_quoted_in_paths() -> None:
    pod = kube_apiserver_pod()
    pod["metadata"]["annotations"]["example.com/flag"] = True
    assert pod_schema.validate_pod(pod, "1.20.2") == [
        'metadata.annotations["example.com/flag"]: expected string, got boolean'
    ]


@pytest.mark.parametrize("port", [8443, "https"])
def test_int_or_string_accepts_both(port: Any) -> None:
    pod = kube_apiserver_pod()
    pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = port
    assert pod_schema.validate_pod(pod, "1.20.2") == []


@pytest.mark.parametrize("port", [True, 1.5, ["443"]])
def test_int_or_string_rejects_other_types(port: Any) -> None:
    pod = kube_apiserver_pod()
    pod["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = port
    (error,) = pod_schema.validate_pod(pod, "1.20.2")
    assert error.startswith("spec.containers[0].livenessProbe.httpGet.port: expected int-or-string, got ")


@pytest.mark.parametrize("quantity", ["100m", "1", "1.5", ".5", "64Mi", "1Gi", "1e3", "2E-2", "500k", 2, 0.5])
def test_valid_quantities(quantity: Any) -> None:
    pod = kube_apiserver_pod()
    pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = quantity
    assert pod_schema.validate_pod(pod, "1.20.2") == []


@pytest.mark.parametrize("quantity", ["", "1 Gi", "1GB", "m", "1mi", True])
def test_invalid_quantities(quantity: Any) -> None:
    pod = kube_apiserver_pod()
    pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = quantity
    (error,) = pod_schema.validate_pod(pod, "1.20.2")
    assert error.startswith("spec.containers[0].resources.requests.cpu: ")


def test_integers_are_not_booleans_and_booleans_are_not_integers() -> None:
    pod = kube_apiserver_pod()
    pod["spec"]["terminationGracePeriodSeconds"] = True
    pod["spec"]["hostNetwork"] = 1
    assert sorted(pod_schema.validate_pod(pod, "1.20.2")) == [
        "spec.hostNetwork: expected boolean, got integer",
        "spec.terminationGracePeriodSeconds: expected integer, got boolean",
    ]


def test_root_must_be_an_object() -> None:
    assert pod_schema.validate_pod(["not", "a", "pod"], "1.20.2") == ["<root>: expected object, got array"]


def test_sidecar_restart_policy_exists_only_from_1_28() -> None:
    pod = with_sidecar(kube_apiserver_pod())
    assert pod_schema.validate_pod(pod, "1.20.2") == ["spec.initContainers[0].restartPolicy: unknown field"]
    assert pod_schema.validate_pod(pod, "1.27.3") == ["spec.initContainers[0].restartPolicy: unknown field"]
    assert pod_schema.validate_pod(pod, "1.28.0") == []
    assert pod_schema.validate_pod(pod, NEWEST) == []


def test_every_shipped_minor_validates_the_pod() -> None:
    for minor in pod_schema.shipped_minors():
        assert pod_schema.validate_pod(kube_apiserver_pod(), minor) == [], minor


@pytest.mark.parametrize(
    ("version", "minor"),
    [
        ("1.20.2", "1.20"),
        ("1.20", "1.20"),
        ("v1.24.17", "1.20"),
        ("1.28.3", "1.28"),
        ("1.30.0-rc.1", "1.30"),
        ("1.30.1+k3s1", "1.30"),
        ("1.99.0", NEWEST),
    ],
)
def test_version_selection_takes_the_exact_or_nearest_lower_minor(version: str, minor: str) -> None:
    assert pod_schema.select_minor(version) == minor


def test_shipped_minors_cover_1_20_and_1_28_up_to_1_37() -> None:
    minors = pod_schema.shipped_minors()
    assert minors[0] == "1.20"
    assert {f"1.{minor}" for minor in range(28, 38)} <= set(minors)
    assert pod_schema.schema_release("1.20.9") == "v1.20.2"


def test_too_old_and_unparsable_versions_are_errors() -> None:
    with pytest.raises(pod_schema.UnsupportedKubernetesVersion, match=r"1\.19\.16 is older than .*\(1\.20\)"):
        pod_schema.select_minor("1.19.16")
    for version in ("2.0.0", "latest", "1"):
        with pytest.raises(pod_schema.UnsupportedKubernetesVersion, match="cannot parse"):
            pod_schema.validate_pod(kube_apiserver_pod(), version)


def test_shipped_schemas_stay_small() -> None:
    assert DATA_FILE.stat().st_size < 100_000


def test_schema_fields_agree_with_the_kubernetes_client_models() -> None:
    """The kubernetes package (client 1.<N> for Kubernetes 1.<N>) is an independent oracle for field names."""
    kubernetes = pytest.importorskip("kubernetes")
    minor = "1." + kubernetes.__version__.split(".")[0]
    if minor not in pod_schema.shipped_minors():
        pytest.skip(f"no schema shipped for the client's Kubernetes {minor}")
    compared = 0
    for name, definition in pod_schema._definitions(minor).items():
        *_prefix, group_version, kind = name.split(".")
        model = getattr(kubernetes.client, f"{group_version.capitalize()}{kind}", None)
        if model is None:
            continue
        assert set(model.attribute_map.values()) == set(definition["properties"]), name
        compared += 1
    assert compared > 100
