"""The ShootState of a bootstrap namespace: compiled from a real API server holding persisted secrets,
extension states and machine-controller-manager objects, exported by shootstate_export through
ansible-playbook, and parsed back into the pki role's SecretState entries."""

from __future__ import annotations

import base64
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.vault import VaultLib, VaultSecret
from play import play
from support.apiserver import BootstrapApiserver

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.shootstate import (
    compile_shoot_state,
    load_shoot_state,
    machine_state_of,
    same_content,
    secrets_state,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._pki.state import new_entry, serialize_state

EXTENSIONS = "extensions.gardener.cloud/v1alpha1"
MACHINES = "machine.sapcloud.io/v1alpha1"
NOW = datetime(2026, 8, 21, 10, 0, 0, 123456, tzinfo=timezone.utc)
VAULT_PASSWORD = "correct horse battery staple"
SECRET_VALUES = (b"CLUSTER-CA-KEY", b"SSH-PRIVATE-KEY", b"PKI-CA-KEY", b"APISERVER-KEY", b"REFERENCED-SECRET")


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def secrets_manager_labels(name: str) -> dict[str, str]:
    return {"managed-by": "secrets-manager", "manager-identity": "gardenadm", "name": name, "persist": "true"}


def pki_entries() -> list[dict[str, Any]]:
    """Entries exactly as the pki role's state file holds them: a new cluster CA and a certificate."""
    issued = datetime(2026, 8, 20, tzinfo=timezone.utc)
    authority = new_entry(
        "ca", {"cn": "kubernetes"}, {"ca.crt": b"PKI-CA-CERT", "ca.key": b"PKI-CA-KEY"}, secret_type="Opaque",
        persist=True, issued_at=issued,
    )  # fmt: skip
    certificate = new_entry(
        "kube-apiserver", {"cn": "kube-apiserver"}, {"tls.crt": b"APISERVER-CERT", "tls.key": b"APISERVER-KEY"},
        secret_type="kubernetes.io/tls", persist=False, issued_at=issued,
    )  # fmt: skip
    return yaml.safe_load(serialize_state([authority, certificate]))


def create(api: BootstrapApiserver, obj: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    created = api.client.create(obj)
    if status is not None:
        metadata = created["metadata"]
        api.client.merge_patch(
            obj["apiVersion"], obj["kind"], metadata["name"], {"status": status}, metadata["namespace"],
            subresource="status",
        )  # fmt: skip
    return created


def populate(api: BootstrapApiserver, namespace: str) -> None:
    """What gardenadm bootstrap leaves in the namespace, plus objects the ShootState must leave out."""

    def secret(name: str, data: dict[str, bytes], labels: dict[str, str], **fields: Any) -> dict[str, Any]:
        metadata = {"name": name, "namespace": namespace, "labels": labels}
        encoded = {key: b64(value) for key, value in data.items()}
        return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": encoded, **fields}

    ca_data = {"ca.crt": b"CLUSTER-CA-CERT", "ca.key": b"CLUSTER-CA-KEY"}
    create(api, secret("ca-3f2a1b7c", ca_data, secrets_manager_labels("ca"), type="Opaque", immutable=True))
    ssh = {"id_rsa": b"SSH-PRIVATE-KEY", "id_rsa.pub": b"ssh-rsa AAAA"}
    create(api, secret("ssh-keypair-9d8e7f6a", ssh, secrets_manager_labels("ssh-keypair"), type="Opaque"))
    create(api, secret("cloudprovider", {"token": b"not persisted"}, {"gardener.cloud/purpose": "cloudprovider"}))
    create(api, secret("worker-state-ref", {"blob": b"REFERENCED-SECRET"}, {}))

    def extension(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": EXTENSIONS,
            "kind": kind,
            "metadata": {"name": name, "namespace": namespace},
            "spec": spec,
        }

    secret_ref = {"name": "cloudprovider", "namespace": namespace}
    common = {"type": "local", "region": "local", "secretRef": secret_ref}
    create(api, extension("Infrastructure", "root", common), {"state": {"vpc": "vpc-1"}})
    reference = {
        "name": "worker-state",
        "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "worker-state-ref"},
    }
    pool = {"name": "cp", "machineType": "local", "minimum": 1, "maximum": 1, "maxSurge": 1, "maxUnavailable": 0}
    pool["userDataSecretRef"] = {"name": "osc", "key": "cloud_config"}
    create(api, extension("Worker", "root", {**common, "pools": [pool]}), {"state": {"w": 1}, "resources": [reference]})
    create(
        api,
        extension("OperatingSystemConfig", "cp-osc", {"type": "local", "purpose": "provision"}),
        {"state": {"o": 1}},
    )
    create(
        api, extension("Network", "root", {"type": "calico", "podCIDR": "10.1.0.0/16", "serviceCIDR": "10.2.0.0/16"})
    )
    dns = extension(
        "DNSRecord", "root-external", {**common, "name": "api.x", "recordType": "A", "values": ["10.0.0.1"]}
    )
    dns["metadata"]["finalizers"] = ["test/keep"]
    create(api, dns, {"state": {"zone": "z"}})
    api.client.delete(EXTENSIONS, "DNSRecord", "root-external", namespace)  # being deleted: left out

    template = {"spec": {"class": {"kind": "MachineClass", "name": "cp-class"}}}
    deployment = create(
        api,
        {
            "apiVersion": MACHINES,
            "kind": "MachineDeployment",
            "metadata": {"name": "md-1", "namespace": namespace},
            "spec": {"replicas": 2, "template": template},
        },
    )
    create(
        api,
        {
            "apiVersion": MACHINES,
            "kind": "MachineDeployment",
            "metadata": {"name": "md-without-sets", "namespace": namespace},
            "spec": {"replicas": 1, "template": template},
        },
    )
    owner = {"apiVersion": MACHINES, "kind": "MachineDeployment", "name": "md-1", "uid": deployment["metadata"]["uid"]}
    machine_set = create(
        api,
        {
            "apiVersion": MACHINES,
            "kind": "MachineSet",
            "metadata": {"name": "ms-1", "namespace": namespace, "ownerReferences": [owner]},
            "spec": {"replicas": 2, "template": template},
        },
        {"replicas": 2},
    )
    set_owner = {"apiVersion": MACHINES, "kind": "MachineSet", "name": "ms-1", "uid": machine_set["metadata"]["uid"]}
    for name, metadata, spec in (
        ("m-1", {"ownerReferences": [set_owner]}, {"providerID": "local://m-1"}),
        ("m-2", {"ownerReferences": [set_owner]}, {}),  # neither provider ID nor node label: left out
        ("m-3", {"labels": {"name": "md-1", "node": "node-3"}}, {}),  # no owner: by its name label
    ):
        create(
            api,
            {
                "apiVersion": MACHINES,
                "kind": "Machine",
                "metadata": {"name": name, "namespace": namespace, **metadata},
                "spec": {"class": {"kind": "MachineClass", "name": "cp-class"}, **spec},
            },
            {"currentStatus": {"phase": "Running"}},
        )


def expected_secrets(namespace: str) -> list[dict[str, Any]]:
    """The cluster's ssh-keypair, and the pki entries (its ca replaces the cluster's)."""
    ssh = {
        "name": "ssh-keypair-9d8e7f6a",
        "type": "secret",
        "labels": secrets_manager_labels("ssh-keypair"),
        "data": {"data": {"id_rsa": b64(b"SSH-PRIVATE-KEY"), "id_rsa.pub": b64(b"ssh-rsa AAAA")}, "type": "Opaque"},
    }
    return sorted([ssh, *pki_entries()], key=lambda entry: entry["name"])


def test_compile(bootstrap_apiserver: BootstrapApiserver, namespace: str) -> None:
    api = bootstrap_apiserver
    populate(api, namespace)
    with api.new_client() as client:
        shoot_state = compile_shoot_state(client, namespace, "root", "garden", now=NOW, extra_secrets=pki_entries())
        again = compile_shoot_state(client, namespace, "root", "garden", now=datetime.now(timezone.utc))
        secrets_only = compile_shoot_state(client, namespace, "root", "garden", now=NOW, secrets_only=True)

    assert shoot_state["apiVersion"] == "core.gardener.cloud/v1beta1"
    assert shoot_state["kind"] == "ShootState"
    assert shoot_state["metadata"] == {
        "name": "root",
        "namespace": "garden",
        "annotations": {"gardener.cloud/timestamp": "2026-08-21T10:00:00Z"},
    }
    gardener = shoot_state["spec"]["gardener"]
    assert [entry["name"] for entry in gardener] == [entry["name"] for entry in expected_secrets(namespace)] + [
        "machine-state"
    ]
    # Only the persisted secrets: no machine state, no extension state.
    assert set(secrets_only["spec"]) == {"gardener"}
    assert [entry["name"] for entry in secrets_only["spec"]["gardener"]] == sorted(
        entry["name"] for entry in again["spec"]["gardener"] if entry["name"] != "machine-state"
    )
    assert shoot_state["spec"]["extensions"]
    # Parsed back: exactly the SecretState entries that went in.
    assert secrets_state(shoot_state) == expected_secrets(namespace)
    assert [entry for entry in secrets_state(shoot_state) if entry in pki_entries()] == pki_entries()
    # Without the pki entries the cluster's own CA is there, with its immutability.
    (cluster_ca,) = [entry for entry in again["spec"]["gardener"] if entry.get("labels", {}).get("name") == "ca"]
    assert cluster_ca["data"] == {
        "data": {"ca.crt": b64(b"CLUSTER-CA-CERT"), "ca.key": b64(b"CLUSTER-CA-KEY")},
        "type": "Opaque",
        "immutable": True,
    }

    machine_state_entry = gardener[-1]
    assert machine_state_entry["type"] == "machine-state" and set(machine_state_entry) == {"name", "type", "data"}
    class_spec = {"class": {"kind": "MachineClass", "name": "cp-class"}}
    assert machine_state_of(shoot_state) == {
        "machineDeployments": {
            "md-1": {
                "replicas": 2,
                "machineSets": [
                    {
                        "metadata": {"name": "ms-1", "namespace": namespace},
                        "spec": {"replicas": 2, "template": {"spec": class_spec}},
                    }
                ],
                "machines": [
                    {
                        "metadata": {
                            "name": "m-3",
                            "namespace": namespace,
                            "labels": {"name": "md-1", "node": "node-3"},
                        },
                        "spec": class_spec,
                    },
                    {
                        "metadata": {"name": "m-1", "namespace": namespace},
                        "spec": {**class_spec, "providerID": "local://m-1"},
                    },
                ],
            }
        }
    }

    assert shoot_state["spec"]["extensions"] == [
        {"kind": "Infrastructure", "name": "root", "state": {"vpc": "vpc-1"}},
        {"kind": "OperatingSystemConfig", "name": "cp-osc", "purpose": "provision", "state": {"o": 1}},
        {
            "kind": "Worker",
            "name": "root",
            "state": {"w": 1},
            "resources": [
                {
                    "name": "worker-state",
                    "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "worker-state-ref"},
                }
            ],
        },
    ]
    (resource,) = shoot_state["spec"]["resources"]
    assert {key: resource[key] for key in ("apiVersion", "kind", "name")} == {
        "apiVersion": "v1",
        "kind": "Secret",
        "name": "worker-state-ref",
    }
    assert resource["data"]["data"] == {"blob": b64(b"REFERENCED-SECRET")}
    assert set(resource["data"]["metadata"]) == {"name", "namespace"}  # uid, resourceVersion ... dropped

    # Compiled again, the same namespace gives the same content: only the timestamp differs.
    with api.new_client() as client:
        later = compile_shoot_state(
            client, namespace, "root", "garden", now=datetime.now(timezone.utc), extra_secrets=pki_entries()
        )
    assert later["metadata"]["annotations"] != shoot_state["metadata"]["annotations"]
    assert same_content(later, shoot_state)


def export(namespace: str, dest: Path, **options: Any) -> dict[str, Any]:
    keywords = {key: options.pop(key) for key in ("check_mode", "diff") if key in options}
    arguments = {
        "namespace": namespace,
        "shoot_name": "root",
        "shoot_namespace": "garden",
        "extra_secrets": pki_entries(),
        "dest": str(dest),
        **options,
    }
    return {"gardener.autonomous.shootstate_export": arguments, **keywords}


def test_export(bootstrap_apiserver: BootstrapApiserver, namespace: str, tmp_path: Path) -> None:
    api = bootstrap_apiserver
    populate(api, namespace)
    dest = tmp_path / "shootstate.yaml"

    first = play(tmp_path, [export(namespace, dest)], kubeconfig=api.kubeconfig_path)
    (written,) = first.results
    assert written["changed"] and not written.get("failed"), written.get("msg")
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    content = dest.read_text()
    assert content.startswith("apiVersion: core.gardener.cloud/v1beta1\nkind: ShootState\n")
    assert secrets_state(load_shoot_state(content, str(dest))) == expected_secrets(namespace)
    assert written["summary"] == {
        "secrets": 3,
        "extensions": 3,
        "machines": 2,
        "secret_names": [entry["name"] for entry in expected_secrets(namespace)],
        "extension_names": ["Infrastructure/root", "OperatingSystemConfig/cp-osc", "Worker/root"],
        "machine_names": ["m-1", "m-3"],
    }

    labels = secrets_manager_labels("kube-apiserver-static-token")
    api.client.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "kube-apiserver-static-token-1a2b", "namespace": namespace, "labels": labels},
            "data": {"static_tokens.csv": b64(b"STATIC-TOKEN")},
        }
    )
    second = play(
        tmp_path,
        [
            export(namespace, dest, extra_secrets=pki_entries(), check_mode=True, diff=True),
            export(namespace, dest),
        ],
        kubeconfig=api.kubeconfig_path,
    )
    predicted, rewritten = second.results
    assert predicted["changed"] and rewritten["changed"]
    assert "kube-apiserver-static-token-1a2b" in predicted["diff"]["after"]
    assert "kube-apiserver-static-token-1a2b" not in predicted["diff"]["before"]
    assert predicted["diff"]["before"].startswith("secrets (3): ")
    assert "mode: 0600" in predicted["diff"]["after"]

    dest.chmod(0o644)
    stamp = dest.stat().st_mtime_ns
    third = play(tmp_path, [export(namespace, dest), export(namespace, dest)], kubeconfig=api.kubeconfig_path)
    assert [result["changed"] for result in third.results] == [True, False]  # the mode, then nothing
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert dest.stat().st_mtime_ns == stamp  # content unchanged: not rewritten

    outputs = first.output + second.output + third.output
    leaked = [
        value for value in (*SECRET_VALUES, b"STATIC-TOKEN") if value.decode() in outputs or b64(value) in outputs
    ]
    assert not leaked


def test_export_encrypted(bootstrap_apiserver: BootstrapApiserver, namespace: str, tmp_path: Path) -> None:
    api = bootstrap_apiserver
    populate(api, namespace)
    dest = tmp_path / "shootstate.yaml"
    password_file = tmp_path / "vault-password"
    password_file.write_text(VAULT_PASSWORD + "\n")
    vault = ("--vault-password-file", str(password_file))

    played = play(
        tmp_path,
        [export(namespace, dest, encrypt=True), export(namespace, dest, encrypt=True)],
        kubeconfig=api.kubeconfig_path,
        options=vault,
    )
    assert [result["changed"] for result in played.results] == [True, False], played.results
    ciphertext = dest.read_text()
    assert ciphertext.startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    plaintext = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))]).decrypt(ciphertext).decode()
    assert secrets_state(load_shoot_state(plaintext, str(dest))) == expected_secrets(namespace)

    # Without the vault secret the encrypted file cannot be compared: the task fails and leaves it alone.
    (refused,) = play(tmp_path, [export(namespace, dest)], kubeconfig=api.kubeconfig_path).results
    assert refused["failed"]
    assert refused["msg"] == (
        f"{dest} is vault-encrypted but no vault secret is loaded; run with --vault-id or --vault-password-file"
    )
    assert dest.read_text() == ciphertext
    # With it, decrypting back to plain text is a change of form.
    (decrypted,) = play(tmp_path, [export(namespace, dest)], kubeconfig=api.kubeconfig_path, options=vault).results
    assert decrypted["changed"]
    assert dest.read_text().startswith("apiVersion: core.gardener.cloud/v1beta1\n")
