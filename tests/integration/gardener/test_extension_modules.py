"""gardener_infrastructure, gardener_worker and gardener_bastion run by ansible-playbook against the real
bootstrap apiserver (Gardener's CRDs), with a thread playing the extension controller."""

from __future__ import annotations

import base64
import copy
import dataclasses
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from fake_extension import ERROR_CODES, ERROR_DESCRIPTION, FINALIZER, KIND_STATUS, FakeExtension
from play import play
from support.apiserver import BootstrapApiserver

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extension_objects import (
    DELETION_CONFIRMATION_ANNOTATION,
    ExtensionFailed,
    Request,
    run,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import (
    OPERATION_ANNOTATION,
    TIMESTAMP_ANNOTATION,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import parse_rfc3339

API_VERSION = "extensions.gardener.cloud/v1alpha1"
MACHINE_API_VERSION = "machine.sapcloud.io/v1alpha1"
MODULES = {
    "Infrastructure": "gardener.autonomous.gardener_infrastructure",
    "Worker": "gardener.autonomous.gardener_worker",
    "Bastion": "gardener.autonomous.gardener_bastion",
}
PROVIDER_CONFIG = {"apiVersion": "local.provider.extensions.gardener.cloud/v1alpha1", "kind": "Config", "x": 1}


def spec_of(kind: str, namespace: str) -> dict[str, Any]:
    """A spec Gardener's CRD schema accepts."""
    secret_ref = {"name": "cloudprovider", "namespace": namespace}
    if kind == "Infrastructure":
        return {"type": "local", "region": "local", "secretRef": secret_ref}
    if kind == "Worker":
        pool = {
            "name": "control-plane",
            "machineType": "local",
            "machineImage": {"name": "local", "version": "1.0.0"},
            "minimum": 1,
            "maximum": 1,
            "maxSurge": 1,
            "maxUnavailable": 0,
            "zones": ["local"],
            "userDataSecretRef": {"name": "osc-control-plane", "key": "cloud_config"},
        }
        return {"type": "local", "region": "local", "secretRef": secret_ref, "pools": [pool]}
    user_data = base64.b64encode(b"#!/bin/bash\nuseradd gardener\n").decode()
    return {"type": "local", "userData": user_data, "ingress": [{"ipBlock": {"cidr": "203.0.113.0/24"}}]}


def with_unknown_field(spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The spec with a misspelt field (nested in the first item of a list where the kind has one), and its path."""
    spec = copy.deepcopy(spec)
    listed = next((key for key in ("pools", "ingress") if key in spec), None)
    (spec[listed][0] if listed else spec)["bogusField"] = "x"
    return spec, f".spec.{listed}[0].bogusField" if listed else ".spec.bogusField"


def task(kind: str, namespace: str, name: str, **options: Any) -> dict[str, Any]:
    keywords = {key: options.pop(key) for key in ("check_mode", "diff") if key in options}
    return {MODULES[kind]: {"namespace": namespace, "name": name, **options}, **keywords}


def timestamp(result: dict[str, Any]) -> str:
    return result["object"]["metadata"]["annotations"][TIMESTAMP_ANNOTATION]


def apply(api: BootstrapApiserver, request: Request) -> dict[str, Any]:
    """The modules' logic called directly (no ansible-playbook), with a fresh client."""
    with api.new_client() as client:
        return run(client, request, now=datetime.now(timezone.utc), check_mode=False, diff=False)


def create_machines(api: BootstrapApiserver, namespace: str) -> None:
    """Two Machines as machine-controller-manager leaves them; machine-b has joined (its node label)."""
    for name, phase, address, node in (
        ("machine-b", "Running", "10.250.0.11", "cp-1"),
        ("machine-a", "Available", "10.250.0.10", None),
    ):
        labels = {"node": node} if node else {}
        api.client.create(
            {
                "apiVersion": MACHINE_API_VERSION,
                "kind": "Machine",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {
                    "class": {"kind": "MachineClass", "name": "control-plane-class"},
                    "providerID": f"local://{name}",
                },
            }
        )
        status = {"currentStatus": {"phase": phase}, "addresses": [{"type": "InternalIP", "address": address}]}
        api.client.merge_patch(
            MACHINE_API_VERSION, "Machine", name, {"status": status}, namespace, subresource="status"
        )


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_lifecycle(bootstrap_apiserver: BootstrapApiserver, namespace: str, tmp_path: Path, kind: str) -> None:
    api, spec = bootstrap_apiserver, spec_of(kind, namespace)
    changed_spec = {**copy.deepcopy(spec), "providerConfig": PROVIDER_CONFIG}
    if kind == "Worker":
        create_machines(api, namespace)
    steps = {
        "predict": task(kind, namespace, "root", spec=spec, check_mode=True),
        "create": task(kind, namespace, "root", spec=spec, diff=True),
        "rerun": task(kind, namespace, "root", spec=spec),
        "predict change": task(kind, namespace, "root", spec=changed_spec, check_mode=True, diff=True),
        "label": task(kind, namespace, "root", spec=spec, labels={"team": "a"}),
        "force": task(kind, namespace, "root", spec=spec, labels={"team": "a"}, force_reconcile=True),
        "predict delete": task(kind, namespace, "root", state="absent", check_mode=True),
        "delete": task(kind, namespace, "root", state="absent", diff=True),
        "delete again": task(kind, namespace, "root", state="absent"),
        "recreate": task(kind, namespace, "root", spec=spec),
        "predict migrate": task(kind, namespace, "root", state="migrated", check_mode=True),
        "migrate": task(kind, namespace, "root", state="migrated"),
        "migrate again": task(kind, namespace, "root", state="migrated"),
    }
    with FakeExtension(api, kind, namespace) as extension:
        played = play(tmp_path, list(steps.values()), kubeconfig=api.kubeconfig_path)
    results = dict(zip(steps, played.results))
    assert not {step: result["msg"] for step, result in results.items() if result.get("failed")}
    unchanged = {"rerun", "delete again", "migrate again"}
    assert {step for step, result in results.items() if not result["changed"]} == unchanged

    created, rerun = results["create"], results["rerun"]
    assert results["predict"]["object"]["metadata"]["annotations"][OPERATION_ANNOTATION] == "reconcile"
    assert created["diff"]["before"] == {}  # the check-mode run created nothing
    assert created["diff"]["after"]["spec"] == spec
    assert created["status"]["lastOperation"]["state"] == "Succeeded"
    assert created["status"]["lastError"] is None
    assert OPERATION_ANNOTATION not in created["object"]["metadata"]["annotations"]
    assert "managedFields" not in created["object"]["metadata"]
    assert created["object"]["metadata"]["finalizers"] == [FINALIZER]
    # The rerun wrote nothing: same resourceVersion, same timestamp.
    assert rerun["object"]["metadata"]["resourceVersion"] == created["object"]["metadata"]["resourceVersion"]
    assert timestamp(rerun) == timestamp(created)
    assert_kind_results(kind, created)

    predicted_change, labelled, forced = results["predict change"], results["label"], results["force"]
    assert predicted_change["diff"]["before"]["spec"] == spec
    assert predicted_change["diff"]["after"]["spec"]["providerConfig"] == PROVIDER_CONFIG
    assert "providerConfig" not in labelled["object"]["spec"]  # check mode changed nothing
    assert labelled["object"]["metadata"]["labels"] == {"team": "a"}
    assert timestamp(labelled) == timestamp(created)  # a label is no reason to reconcile
    assert parse_rfc3339(timestamp(forced)) > parse_rfc3339(timestamp(created))
    assert forced["status"]["lastOperation"]["state"] == "Succeeded"

    deleted = results["delete"]
    assert "object" not in deleted and "object" not in results["predict delete"]
    assert deleted["diff"]["before"]["spec"] == spec
    assert deleted["diff"]["after"] == {}
    assert extension.deleted_with["root"][DELETION_CONFIRMATION_ANNOTATION] == "true"

    migrated, migrated_again = results["migrate"], results["migrate again"]
    assert results["predict migrate"]["object"]["metadata"]["annotations"][OPERATION_ANNOTATION] == "migrate"
    assert migrated["status"]["lastOperation"]["type"] == "Migrate"
    assert migrated["status"]["lastOperation"]["state"] == "Succeeded"
    assert migrated_again["object"]["metadata"]["resourceVersion"] == migrated["object"]["metadata"]["resourceVersion"]
    stored = api.client.get(API_VERSION, kind, "root", namespace)
    assert stored is not None and OPERATION_ANNOTATION not in stored["metadata"]["annotations"]


def assert_kind_results(kind: str, result: dict[str, Any]) -> None:
    if kind == "Infrastructure":
        assert result["provider_status"] == KIND_STATUS["Infrastructure"]["providerStatus"]
    elif kind == "Worker":
        assert result["machine_deployments"] == KIND_STATUS["Worker"]["machineDeployments"]
        assert result["machines"] == [
            {
                "name": "machine-a",
                "phase": "Available",
                "addresses": [{"type": "InternalIP", "address": "10.250.0.10"}],
                "node": None,
                "class_name": "control-plane-class",
            },
            {
                "name": "machine-b",
                "phase": "Running",
                "addresses": [{"type": "InternalIP", "address": "10.250.0.11"}],
                "node": "cp-1",
                "class_name": "control-plane-class",
            },
        ]
    else:
        assert result["ingress"] == {"ip": "203.0.113.10"}


@pytest.mark.parametrize("kind", sorted(MODULES))
def test_failures(bootstrap_apiserver: BootstrapApiserver, namespace: str, tmp_path: Path, kind: str) -> None:
    api, spec = bootstrap_apiserver, spec_of(kind, namespace)
    misspelt, misspelt_path = with_unknown_field(spec)
    steps = [
        task(kind, namespace, "broken", spec=spec, wait_timeout=60),
        task(kind, namespace, "silent", spec=spec, wait_timeout=2),
        task(kind, namespace, "bogus", spec=misspelt),
    ]
    with FakeExtension(api, kind, namespace, failing={"broken"}, ignored={"silent"}, delay=1.0) as extension:
        played = play(tmp_path, steps, kubeconfig=api.kubeconfig_path)
    broken, silent, bogus = played.results

    assert broken["failed"]
    assert broken["msg"] == (
        f"{kind} {namespace}/broken failed: error during reconciliation: {ERROR_DESCRIPTION} "
        f"(codes: {', '.join(ERROR_CODES)})"
    )
    assert broken["status"]["lastError"]["codes"] == ERROR_CODES
    # Seen at once: the result reached the controller within 2 s of the error being written.
    assert played.ended[0] - extension.errors_written["broken"] < 2.0

    assert silent["failed"]
    assert silent["msg"].startswith(f"{kind} {namespace}/silent is not ready after 2s: ")
    assert silent["msg"].endswith("observed generation outdated (0/1)")
    assert silent["status"]["lastOperation"] is None

    assert bogus["failed"], bogus
    # Rejected (500) or silently pruned by the 1.20 API server, depending on the CRD: the task fails either way.
    assert bogus["msg"].startswith(f"{kind} {namespace}/bogus: ")
    assert f"{misspelt_path}: field not declared in " in bogus["msg"]
    assert api.client.get(API_VERSION, kind, "bogus", namespace) is None


def test_an_error_from_before_the_request_does_not_fail_the_wait(
    bootstrap_apiserver: BootstrapApiserver, namespace: str
) -> None:
    """force_reconcile repairs a failed object: the previous error stays in the status until the extension
    has tried again, and must not end the new wait."""
    api = bootstrap_apiserver
    request = Request(
        kind="Infrastructure", namespace=namespace, name="root", spec=spec_of("Infrastructure", namespace)
    )

    with FakeExtension(api, "Infrastructure", namespace, failing={"root"}, delay=0.5) as extension:
        with pytest.raises(ExtensionFailed, match="quota for vCPUs exceeded"):
            apply(api, request)
        started = time.monotonic()
        with pytest.raises(ExtensionFailed, match="quota for vCPUs exceeded"):
            apply(api, request)  # nothing new requested: the error is current
        assert time.monotonic() - started < 1.0
        extension.failing.clear()
        # Times compare to the second: the new request must not share the error's second.
        time.sleep(1.0)
        repaired = apply(api, dataclasses.replace(request, force_reconcile=True))
    assert repaired["changed"]
    assert repaired["status"]["lastOperation"]["state"] == "Succeeded"
    assert repaired["status"]["lastError"] is None


def test_a_migrated_object_refuses_a_reconcile_at_once(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    """A migrated object is never reconciled again: asking for it fails before the object is touched."""
    api = bootstrap_apiserver
    request = Request(
        kind="Infrastructure", namespace=namespace, name="root", spec=spec_of("Infrastructure", namespace)
    )

    with FakeExtension(api, "Infrastructure", namespace, delay=0.1):
        apply(api, request)
        apply(api, dataclasses.replace(request, state="migrated"))
        migrated = api.client.get(API_VERSION, "Infrastructure", "root", namespace)
        assert apply(api, request)["changed"] is False  # unchanged spec: nothing to reconcile, nothing to refuse
        started = time.monotonic()
        with pytest.raises(KubeError, match=r"root was migrated \(lastOperation Migrate Succeeded\)"):
            apply(api, dataclasses.replace(request, force_reconcile=True))
        assert time.monotonic() - started < 1.0
    assert api.client.get(API_VERSION, "Infrastructure", "root", namespace) == migrated
