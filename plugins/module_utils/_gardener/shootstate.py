# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The ShootState of a bootstrap namespace, compiled as gardener's shootstate builder does
(``pkg/utils/gardener/shootstate``), and parsed back into the secrets state of the pki role.

- ``spec.gardener``: every Secret labelled ``persist=true`` as ``{name, type: secret, labels, data:
  SecretState}``, merged with given SecretState entries (by ``labels.name``, the given ones win), and the
  ``machine-state`` entry (gzip of the JSON MachineState built from the MCM objects).
- ``spec.extensions``: the state and resources of the extension objects that have any.
- ``spec.resources``: the objects those extensions reference, without server-written metadata.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gzip
import json
from datetime import datetime
from typing import Any, Dict, Iterable, List, Mapping, Tuple

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extensions import TIMESTAMP_ANNOTATION
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient, KubeObject
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KindNotServed
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.timestamps import format_rfc3339
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import dump, load, yaml

API_VERSION = "core.gardener.cloud/v1beta1"
KIND = "ShootState"
EXTENSIONS_API_VERSION = "extensions.gardener.cloud/v1alpha1"
MACHINE_API_VERSION = "machine.sapcloud.io/v1alpha1"
SECRET = "secret"  # noqa: S105 - the entry type, not a password
MACHINE_STATE = "machine-state"
PERSIST_SELECTOR = {"persist": "true"}  # the secrets manager's label for secrets that outlive the cluster
# The kinds gardener's builder scans for state, in its order.
STATEFUL_EXTENSION_KINDS = (
    "BackupEntry",
    "ContainerRuntime",
    "ControlPlane",
    "DNSRecord",
    "Extension",
    "Infrastructure",
    "Network",
    "OperatingSystemConfig",
    "SelfHostedShootExposure",
    "Worker",
)
# Dropped from referenced objects (gardener's unstructured.GetObject).
SYSTEM_METADATA = (
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "selfLink",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
)


class ShootStateError(Exception):
    """A ShootState or SecretState entry that cannot be used. Messages never contain secret data."""


# Compile


def compile_shoot_state(
    client: KubeClient,
    namespace: str,
    shoot_name: str,
    shoot_namespace: str,
    *,
    now: datetime,
    extra_secrets: Iterable[Mapping[str, Any]] = (),
    secrets_only: bool = False,
) -> Dict[str, Any]:
    """The ShootState of the shoot whose control plane objects live in ``namespace``; with ``secrets_only``
    just its persisted secrets (no machine state, no extension state)."""
    given = [_secret_entry(entry, f"extra_secrets[{index}]") for index, entry in enumerate(extra_secrets)]
    gardener = merge_secrets(persisted_secrets(client, namespace), given)
    state = {} if secrets_only else machine_state(client, namespace)
    if state:
        gardener.append(machine_state_entry(state))
    extensions, resources = ([], []) if secrets_only else extension_states(client, namespace)
    spec: Dict[str, Any] = {"gardener": gardener}
    if extensions:
        spec["extensions"] = extensions
    if resources:
        spec["resources"] = resources
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": shoot_name,
            "namespace": shoot_namespace,
            "annotations": {TIMESTAMP_ANNOTATION: format_rfc3339(now)},
        },
        "spec": spec,
    }


def persisted_secrets(client: KubeClient, namespace: str) -> List[Dict[str, Any]]:
    items = client.list("v1", "Secret", namespace, label_selector=PERSIST_SELECTOR).get("items") or []
    return [_secret_state_of(secret) for secret in items]


def _secret_state_of(secret: Mapping[str, Any]) -> Dict[str, Any]:
    state: Dict[str, Any] = {"data": dict(secret.get("data") or {}), "type": secret.get("type") or "Opaque"}
    if secret.get("immutable") is not None:
        state["immutable"] = secret["immutable"]
    metadata = secret["metadata"]
    return {"name": metadata["name"], "type": SECRET, "labels": dict(metadata.get("labels") or {}), "data": state}


def merge_secrets(in_cluster: Iterable[Mapping[str, Any]], given: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """One entry per secret (``labels.name``, else the entry name); a given entry replaces the cluster's."""
    merged = {_identity(entry): dict(entry) for entry in in_cluster}
    for entry in given:
        # An entry of the same name but another identity would be a second entry of that name: drop it.
        merged = {key: kept for key, kept in merged.items() if kept["name"] != entry["name"]}
        merged[_identity(entry)] = dict(entry)
    return sorted(merged.values(), key=lambda entry: entry["name"])


def _identity(entry: Mapping[str, Any]) -> str:
    name = (entry.get("labels") or {}).get("name")
    return f"name={name}" if name else f"entry={entry['name']}"


# Machine state


def machine_state(client: KubeClient, namespace: str) -> Dict[str, Any]:
    """The MachineState of the namespace: per MachineDeployment its replicas, MachineSets and Machines
    (metadata reduced to name, namespace, labels and annotations; no status). Machines with neither a
    provider ID nor a ``node`` label (not joined yet) are left out; empty without MCM objects or CRDs."""
    try:
        deployments = _items(client, "MachineDeployment", namespace)
    except KindNotServed:  # no managed infrastructure: no machine-controller-manager
        return {}
    machine_sets = _items(client, "MachineSet", namespace)
    machines = [machine for machine in _items(client, "Machine", namespace) if _joined(machine)]
    sets_by_deployment = _by_owner(machine_sets, "MachineDeployment")
    machines_by_owner = _by_owner(machines, "MachineSet")
    deployment_states: Dict[str, Any] = {}
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        sets = sets_by_deployment.get(name)
        if not sets:
            continue
        owned = list(machines_by_owner.get(name, []))
        for machine_set in sets:
            owned += machines_by_owner.get(machine_set["metadata"]["name"], [])
        deployment_states[name] = _deployment_state(deployment, sets, owned)
    return {"machineDeployments": deployment_states} if deployment_states else {}


def _items(client: KubeClient, kind: str, namespace: str) -> List[KubeObject]:
    items = client.list(MACHINE_API_VERSION, kind, namespace).get("items") or []
    return sorted(items, key=lambda item: item["metadata"]["name"])


def _joined(machine: Mapping[str, Any]) -> bool:
    return "node" in (machine["metadata"].get("labels") or {}) or bool((machine.get("spec") or {}).get("providerID"))


def _by_owner(objects: Iterable[KubeObject], owner_kind: str) -> Dict[str, List[KubeObject]]:
    """Objects by the name of their owner of ``owner_kind``; without owner references, by label ``name``
    (gardener's BuildOwnerToMachineSetsMap / BuildOwnerToMachinesMap)."""
    owned: Dict[str, List[KubeObject]] = {}
    for obj in objects:
        metadata = obj["metadata"]
        references = metadata.get("ownerReferences") or []
        if references:
            owners = [reference["name"] for reference in references if reference.get("kind") == owner_kind]
        else:
            owners = [metadata["labels"]["name"]] if "name" in (metadata.get("labels") or {}) else []
        for owner in owners:
            owned.setdefault(owner, []).append(obj)
    return owned


def _deployment_state(
    deployment: Mapping[str, Any], machine_sets: List[KubeObject], machines: List[KubeObject]
) -> Dict[str, Any]:
    state: Dict[str, Any] = {}
    replicas = (deployment.get("spec") or {}).get("replicas")
    if replicas:
        state["replicas"] = replicas
    state["machineSets"] = [_reduced(machine_set) for machine_set in machine_sets]
    if machines:
        state["machines"] = [_reduced(machine) for machine in machines]
    return state


def _reduced(obj: Mapping[str, Any]) -> Dict[str, Any]:
    metadata = obj["metadata"]
    kept = {key: metadata[key] for key in ("name", "namespace", "labels", "annotations") if metadata.get(key)}
    return {"metadata": kept, "spec": copy.deepcopy(obj.get("spec") or {})}


def machine_state_entry(state: Mapping[str, Any]) -> Dict[str, Any]:
    """The ``machine-state`` entry: ``data.state`` is the gzipped JSON, base64 as JSON carries bytes."""
    document = json.dumps(state, sort_keys=True, separators=(",", ":")).encode("utf-8")
    # mtime 0: the same state compresses to the same bytes, so an unchanged export stays unchanged.
    compressed = gzip.compress(document, compresslevel=9, mtime=0)
    return {"name": MACHINE_STATE, "type": MACHINE_STATE, "data": {"state": base64.b64encode(compressed).decode()}}


def machine_state_of(shoot_state: Mapping[str, Any]) -> Dict[str, Any]:
    """The MachineState a ShootState carries (empty without a machine-state entry)."""
    for entry in _gardener_entries(shoot_state):
        if entry.get("type") == MACHINE_STATE:
            try:
                compressed = base64.b64decode((entry.get("data") or {}).get("state") or "", validate=True)
                return json.loads(gzip.decompress(compressed)) if compressed else {}
            except (binascii.Error, OSError, EOFError, ValueError) as error:
                raise ShootStateError(f"the machine-state entry cannot be decoded: {error}") from None
    return {}


# Extensions


def extension_states(client: KubeClient, namespace: str) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """``spec.extensions`` and ``spec.resources``: objects with state or resources, not being deleted."""
    states: List[Dict[str, Any]] = []
    resources: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
    for kind in STATEFUL_EXTENSION_KINDS:
        for obj in _extension_objects(client, kind, namespace):
            status = obj.get("status") or {}
            stateless = status.get("state") is None and not status.get("resources")
            if stateless or obj["metadata"].get("deletionTimestamp"):
                continue
            states.append(_extension_state(kind, obj))
            for reference in status.get("resources") or []:
                # autoscaling/v1 CrossVersionObjectReference: apiVersion may be left out for core kinds.
                ref = {"apiVersion": "v1", **reference["resourceRef"]}
                key = (ref["apiVersion"], ref["kind"], ref["name"])
                resources.setdefault(key, _resource_data(client, namespace, kind, obj, ref))
    return states, list(resources.values())


def _extension_objects(client: KubeClient, kind: str, namespace: str) -> List[KubeObject]:
    try:
        namespaced = client.resource_for(EXTENSIONS_API_VERSION, kind).namespaced
    except KindNotServed:  # an older Gardener without this kind
        return []
    items = client.list(EXTENSIONS_API_VERSION, kind, namespace if namespaced else None).get("items") or []
    if not namespaced:
        # BackupEntry is cluster-scoped; the shoot's entry is named <technical ID>--<shoot UID>.
        items = [item for item in items if item["metadata"]["name"].startswith(f"{namespace}--")]
    return sorted(items, key=lambda item: item["metadata"]["name"])


def _extension_state(kind: str, obj: Mapping[str, Any]) -> Dict[str, Any]:
    status = obj.get("status") or {}
    entry: Dict[str, Any] = {"kind": kind, "name": obj["metadata"]["name"]}
    purpose = (obj.get("spec") or {}).get("purpose")
    if kind == "OperatingSystemConfig" and purpose:
        entry["purpose"] = purpose
    if status.get("state") is not None:
        entry["state"] = status["state"]
    if status.get("resources"):
        entry["resources"] = status["resources"]
    return entry


def _resource_data(
    client: KubeClient, namespace: str, kind: str, owner: Mapping[str, Any], ref: Mapping[str, str]
) -> Dict[str, Any]:
    referenced = client.get(ref["apiVersion"], ref["kind"], ref["name"], namespace)
    if referenced is None:
        raise ShootStateError(
            f"{kind} {namespace}/{owner['metadata']['name']} lists resource {ref['kind']} {ref['name']} "
            f"({ref['apiVersion']}), which does not exist"
        )
    metadata = {key: value for key, value in referenced["metadata"].items() if key not in SYSTEM_METADATA}
    data = {**referenced, "metadata": metadata}
    return {"apiVersion": ref["apiVersion"], "kind": ref["kind"], "name": ref["name"], "data": data}


# Parse


def secrets_state(shoot_state: Mapping[str, Any]) -> List[Dict[str, Any]]:
    """The ShootState's secrets as SecretState entries (the pki role's state format), sorted by name.

    Entries written in gardener's older format (``data`` a plain map of base64 values) come back in
    SecretState format as type Opaque.
    """
    entries = [
        _secret_entry(entry, f"spec.gardener[{index}]")
        for index, entry in enumerate(_gardener_entries(shoot_state))
        if entry.get("type") == SECRET
    ]
    return sorted(entries, key=lambda entry: entry["name"])


def _gardener_entries(shoot_state: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    if shoot_state.get("apiVersion") != API_VERSION or shoot_state.get("kind") != KIND:
        raise ShootStateError(f"not a ShootState: expected apiVersion {API_VERSION} and kind {KIND}")
    entries = (shoot_state.get("spec") or {}).get("gardener") or []
    if not isinstance(entries, list) or not all(isinstance(entry, Mapping) for entry in entries):
        raise ShootStateError("spec.gardener must be a list of entries")
    return entries


def _secret_entry(entry: Any, where: str) -> Dict[str, Any]:
    """A validated copy in SecretState format: ``{name, type: secret, labels, data: {data, type[, immutable]}}``."""
    if not isinstance(entry, Mapping) or entry.get("type") != SECRET or not _is_text(entry.get("name")):
        raise ShootStateError(f'{where} is not a secret entry (a mapping with a name and type "secret")')
    labels = entry.get("labels") or {}
    if not _is_text_mapping(labels):
        raise ShootStateError(f"{where} ({entry['name']}): labels must map strings to strings")
    data = entry.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        state = {key: data[key] for key in ("data", "type", "immutable") if key in data}
    elif isinstance(data, Mapping):  # gardener's older format: the secret's data map itself
        state = {"data": data, "type": "Opaque"}
    else:
        raise ShootStateError(f"{where} ({entry['name']}): data must be a SecretState ({{data, type, immutable}})")
    if not _is_text_mapping(state["data"]) or not all(_is_base64(value) for value in state["data"].values()):
        raise ShootStateError(f"{where} ({entry['name']}): data.data must map keys to base64 strings")
    if not _is_text(state.get("type", "Opaque")) or not isinstance(state.get("immutable", False), bool):
        raise ShootStateError(f"{where} ({entry['name']}): data.type must be a string and data.immutable a boolean")
    state["data"] = dict(state["data"])
    return {"name": entry["name"], "type": SECRET, "labels": dict(labels), "data": state}


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_text_mapping(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _is_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


# Files


def dump_shoot_state(shoot_state: Mapping[str, Any]) -> str:
    """YAML that starts with ``apiVersion: core.gardener.cloud/v1beta1`` and ``kind: ShootState``."""
    # Through JSON first: Ansible hands over str subclasses (tagged values) that the safe dumper refuses.
    plain = json.loads(json.dumps(shoot_state))
    return dump(plain, sort_keys=False)


def load_shoot_state(text: str, source: str) -> Dict[str, Any]:
    try:
        # str(): libyaml takes exact str only, not subclasses such as Ansible's tagged strings.
        document = load(str(text))
    except yaml.YAMLError:
        # The parser's own message quotes the offending line, which may be secret data.
        raise ShootStateError(f"{source} is not valid YAML") from None
    if not isinstance(document, dict):
        raise ShootStateError(f"{source} is not a ShootState")
    machine_state_of(document)  # validates the entries and the machine state
    return document


def same_content(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    """Equal but for the timestamp annotation, which changes on every compile."""
    return _without_timestamp(first) == _without_timestamp(second)


def _without_timestamp(shoot_state: Mapping[str, Any]) -> Dict[str, Any]:
    copied = copy.deepcopy(dict(shoot_state))
    annotations = (copied.get("metadata") or {}).get("annotations") or {}
    annotations.pop(TIMESTAMP_ANNOTATION, None)
    return copied


def summarize(shoot_state: Mapping[str, Any]) -> Dict[str, Any]:
    """Counts and names only: what a result or a diff may show."""
    secrets = [entry["name"] for entry in _gardener_entries(shoot_state) if entry.get("type") == SECRET]
    spec = shoot_state.get("spec") or {}
    extensions = [f"{entry['kind']}/{entry['name']}" for entry in spec.get("extensions") or []]
    machines = sorted(
        machine["metadata"]["name"]
        for deployment in (machine_state_of(shoot_state).get("machineDeployments") or {}).values()
        for machine in deployment.get("machines") or []
    )
    return {
        "secrets": len(secrets),
        "extensions": len(extensions),
        "machines": len(machines),
        "secret_names": secrets,
        "extension_names": extensions,
        "machine_names": machines,
    }
