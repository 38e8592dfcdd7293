# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Gardener's config directory, read the way gardenadm reads it, checked against the site's machines.

Public API:

- ``read_manifests(path) -> Manifests``: every object of the directory with the file it came from.
- ``compile_shoot_fact(manifests, machines=None, *, require_managed_infrastructure=False) -> dict``:
  validates the Shoot, its CloudProfile, Project, bindings and, when known, the inventory's machines, and
  returns the ``shoot`` fact of docs/design.md section 4.
- ``ManifestError``: raised by both with every problem found; each names the file (or inventory host),
  the field and the fix.

Controller side: uses PyYAML, never imports Ansible.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Union

from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import yaml

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

GARDEN_NAMESPACE = "garden"
CLUSTER_DOMAIN = "cluster.local"
OLDEST_KUBERNETES = (1, 20)
CONTROL_PLANE_SIZES = (1, 3, 5)
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MACHINE_ROLES = ("control-plane", "worker")
DEFAULT_ARCHITECTURE = "amd64"
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_CORE_V1BETA1 = "core.gardener.cloud/v1beta1"
_SECURITY_V1ALPHA1 = "security.gardener.cloud/v1alpha1"
# The kinds gardenadm decodes from its config directory (gardenadm.md section 1.1), plus Namespace, which its
# dev-setup ships next to the Project and which is ignored here.
SUPPORTED_KINDS: dict[str, frozenset[str]] = {
    "CloudProfile": frozenset({_CORE_V1BETA1}),
    "Project": frozenset({_CORE_V1BETA1}),
    "Shoot": frozenset({_CORE_V1BETA1}),
    "ShootState": frozenset({_CORE_V1BETA1}),
    "ControllerRegistration": frozenset({_CORE_V1BETA1}),
    "ControllerDeployment": frozenset({"core.gardener.cloud/v1", _CORE_V1BETA1}),
    "SecretBinding": frozenset({_CORE_V1BETA1}),
    "Extension": frozenset({"operator.gardener.cloud/v1alpha1"}),
    "CredentialsBinding": frozenset({_SECURITY_V1ALPHA1}),
    "WorkloadIdentity": frozenset({_SECURITY_V1ALPHA1}),
    "ConfigMap": frozenset({"v1"}),
    "Secret": frozenset({"v1"}),
    "Namespace": frozenset({"v1"}),
}
_CLUSTER_SCOPED = frozenset(
    {"CloudProfile", "Project", "ControllerRegistration", "ControllerDeployment", "Extension", "Namespace"}
)
_EXACTLY_ONE = ("Shoot", "CloudProfile", "Project")
_AT_MOST_ONE = ("ShootState", "SecretBinding", "CredentialsBinding")
_MACHINE_KEYS = ("node_name", "ip", "role", "pool", "zone")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*")
_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


class ManifestError(Exception):
    """Every problem found in the manifests or the machines; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listing = "\n".join(f"- {problem}" for problem in problems)
        super().__init__(f"{len(problems)} problem(s) in the Gardener manifests or the machines:\n{listing}")


@lru_cache
def _manifest_loader() -> type[yaml.SafeLoader]:
    """Safe YAML that keeps timestamps as strings, as Kubernetes does, so that the fact stays plain data.
    libyaml's loader when PyYAML has it; the pure-Python loader parses the same."""
    safe_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class ManifestLoader(safe_loader):  # type: ignore[misc,valid-type]
        pass

    ManifestLoader.yaml_implicit_resolvers = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in safe_loader.yaml_implicit_resolvers.items()
    }
    return ManifestLoader


@dataclass(frozen=True)
class ManifestObject:
    """One object of the directory and where it came from."""

    api_version: str
    kind: str
    namespace: str  # "" for cluster-scoped kinds
    name: str
    body: Mapping[str, Any]
    file: str
    document: int  # 1-based position in the file, counting empty documents

    @property
    def origin(self) -> str:
        return f"{self.file} (document {self.document})"

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def display(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Manifests:
    """The objects of one config directory, without duplicates, with the cardinalities gardenadm requires."""

    directory: str
    objects: tuple[ManifestObject, ...]

    def of_kind(self, kind: str) -> tuple[ManifestObject, ...]:
        return tuple(obj for obj in self.objects if obj.kind == kind)

    def find(self, kind: str, namespace: str, name: str) -> ManifestObject | None:
        return next((obj for obj in self.objects if obj.identity == (kind, namespace, name)), None)

    @property
    def shoot(self) -> ManifestObject:
        return self._exactly_one("Shoot")

    @property
    def cloud_profile(self) -> ManifestObject:
        return self._exactly_one("CloudProfile")

    @property
    def project(self) -> ManifestObject:
        return self._exactly_one("Project")

    @property
    def shoot_state(self) -> ManifestObject | None:
        found = self.of_kind("ShootState")
        return found[0] if found else None

    def _exactly_one(self, kind: str) -> ManifestObject:
        found = self.of_kind(kind)
        if len(found) != 1:
            raise ManifestError([f"{self.directory}: expected exactly one {kind}, found {len(found)}"])
        return found[0]


# --- reading ---------------------------------------------------------------------------------------------------------


def read_manifests(path: str) -> Manifests:
    """Read a config directory like gardenadm; raise ManifestError listing every problem found."""
    if not os.path.isdir(path):
        raise ManifestError(
            [f"{path}: not a directory; give the directory that holds the Shoot, CloudProfile and Project manifests"]
        )
    problems: list[str] = []
    objects = [
        obj
        for file in _manifest_files(path, problems)
        for document, body in _documents(file, problems)
        if (obj := _classify(file, document, body, path, problems)) is not None
    ]
    objects = _without_duplicates(objects, problems)
    problems.extend(_cardinality_problems(objects, path))
    if problems:
        raise ManifestError(problems)
    return Manifests(path, tuple(objects))


def _manifest_files(directory: str, problems: list[str]) -> Iterator[str]:
    def report(error: OSError) -> None:
        problems.append(f"{error.filename}: cannot read the directory ({error.strerror}); fix its permissions")

    for root, dirs, files in os.walk(directory, onerror=report):
        dirs[:] = sorted(name for name in dirs if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.endswith(MANIFEST_SUFFIXES):
                yield os.path.join(root, name)


def _documents(file: str, problems: list[str]) -> list[tuple[int, Any]]:
    try:
        with open(file, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as error:
        problems.append(f"{file}: cannot read the file ({error}); fix its permissions or encoding (UTF-8)")
        return []
    try:
        if file.endswith(".json"):
            documents = [json.loads(text)] if text.strip() else []
        else:
            documents = list(yaml.load_all(text, Loader=_manifest_loader()))
    except json.JSONDecodeError as error:
        problems.append(f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); fix it")
        return []
    except yaml.YAMLError as error:
        problems.append(f"{file}: not valid YAML ({_describe_yaml_error(error)}); fix it")
        return []
    return [(index, body) for index, body in enumerate(documents, start=1) if body is not None]


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def _classify(file: str, document: int, body: Any, directory: str, problems: list[str]) -> ManifestObject | None:
    where = f"{file} (document {document})"
    if not isinstance(body, dict):
        problems.append(f"{where}: not a Kubernetes object (a mapping with apiVersion, kind and metadata); fix it")
        return None
    api_version, kind = body.get("apiVersion"), body.get("kind")
    if not (isinstance(api_version, str) and api_version and isinstance(kind, str) and kind):
        problems.append(f"{where}: apiVersion and kind must both be set; add them")
        return None
    if api_version not in SUPPORTED_KINDS.get(kind, ()):
        problems.append(
            f"unsupported kind {kind} ({api_version}) in {where}; remove it or move it out of {directory} "
            f"(supported: {_supported_kinds()})"
        )
        return None
    metadata = body.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    name, namespace = metadata.get("name"), metadata.get("namespace") or ""
    if not (isinstance(name, str) and name):
        problems.append(f"{where}: metadata.name: missing; give the {kind} a name")
        return None
    if not isinstance(namespace, str):
        problems.append(f"{where}: metadata.namespace: must be a string, got {namespace!r}; fix it")
        return None
    namespace = "" if kind in _CLUSTER_SCOPED else namespace
    return ManifestObject(api_version, kind, namespace, name, body, file, document)


def _supported_kinds() -> str:
    return ", ".join(f"{kind} ({' or '.join(sorted(versions))})" for kind, versions in SUPPORTED_KINDS.items())


def _without_duplicates(objects: list[ManifestObject], problems: list[str]) -> list[ManifestObject]:
    first_seen: dict[tuple[str, str, str], ManifestObject] = {}
    for obj in objects:
        earlier = first_seen.setdefault(obj.identity, obj)
        if earlier is not obj:
            problems.append(f"duplicate {obj.display} in {earlier.origin} and {obj.origin}; keep one of them")
    return list(first_seen.values())


def _cardinality_problems(objects: list[ManifestObject], directory: str) -> list[str]:
    problems = []
    for kind in _EXACTLY_ONE + _AT_MOST_ONE:
        found = [obj for obj in objects if obj.kind == kind]
        if not found and kind in _EXACTLY_ONE:
            problems.append(f"{directory}: no {kind} found; add the {kind} manifest (exactly one is needed)")
        elif len(found) > 1:
            listing = ", ".join(f"{obj.display} in {obj.origin}" for obj in found)
            allowed = "exactly one" if kind in _EXACTLY_ONE else "at most one"
            problems.append(f"{directory}: {len(found)} {kind} objects ({listing}); keep {allowed}")
    return problems


# --- typed access to object fields -----------------------------------------------------------------------------------


class _Fields:
    """Typed reads from a part of one object: a missing or mistyped value becomes a problem, never an exception."""

    def __init__(self, obj: ManifestObject, problems: list[str], data: Mapping[str, Any], prefix: str = "") -> None:
        self.obj = obj
        self.problems = problems
        self.data = data
        self.prefix = prefix

    @classmethod
    def of(cls, obj: ManifestObject, problems: list[str]) -> _Fields:
        return cls(obj, problems, obj.body)

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.obj.origin}: {self.path(key)}: {message}")

    def raw(self, key: str) -> Any:
        value: Any = self.data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value

    def string(self, key: str, fix: str) -> str | None:
        value = self.optional_string(key)
        if value is None and self.raw(key) in (None, ""):
            self.problem(key, f"missing; {fix}")
        return value

    def optional_string(self, key: str) -> str | None:
        value = self.raw(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            self.problem(key, f"must be a string, got {value!r}; quote it")
            return None
        return value

    def count(self, key: str) -> int | None:
        value = self.raw(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        self.problem(key, "missing; set it" if value is None else f"must be a whole number >= 0, got {value!r}")
        return None

    def flag(self, key: str) -> bool | None:
        value = self.raw(key)
        if value is None or isinstance(value, bool):
            return value
        self.problem(key, f"must be true or false, got {value!r}; fix it")
        return None

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(item, str) and item for item in value):
            return tuple(value)
        self.problem(key, f"must be a list of strings, got {value!r}; fix it")
        return ()

    def string_map(self, key: str) -> dict[str, str]:
        value = self.raw(key)
        if value is None:
            return {}
        if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return dict(value)
        self.problem(key, f"must map strings to strings, got {value!r}; quote the values")
        return {}

    def entries(self, key: str) -> list[_Fields]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(key, f"must be a list, got {value!r}; fix it")
            return []
        entries = []
        for index, item in enumerate(value):
            if isinstance(item, Mapping):
                entries.append(_Fields(self.obj, self.problems, item, f"{self.path(key)}[{index}]"))
            else:
                self.problem(f"{key}[{index}]", f"must be a mapping, got {item!r}; fix it")
        return entries


# --- the CloudProfile ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MachineType:
    architecture: str | None
    usable: bool


@dataclass(frozen=True)
class _CloudProfile:
    obj: ManifestObject
    type: str | None
    kubernetes_versions: tuple[str, ...]
    machine_types: dict[str, _MachineType]
    machine_images: dict[str, tuple[str, ...]]
    regions: dict[str, tuple[str, ...]]

    def describe(self) -> str:
        return f"CloudProfile {self.obj.name} ({self.obj.origin})"


def _read_cloud_profile(obj: ManifestObject, problems: list[str]) -> _CloudProfile:
    fields = _Fields.of(obj, problems)
    versions = tuple(
        version
        for entry in fields.entries("spec.kubernetes.versions")
        if (version := entry.string("version", "give the Kubernetes version")) is not None
    )
    machine_types = {
        name: _MachineType(entry.optional_string("architecture"), entry.flag("usable") is not False)
        for entry in fields.entries("spec.machineTypes")
        if (name := entry.string("name", "name the machine type")) is not None
    }
    machine_images = {
        name: tuple(
            version
            for version_entry in entry.entries("versions")
            if (version := version_entry.string("version", "give the image version")) is not None
        )
        for entry in fields.entries("spec.machineImages")
        if (name := entry.string("name", "name the machine image")) is not None
    }
    regions = {
        name: tuple(
            zone for zone_entry in entry.entries("zones") if (zone := zone_entry.string("name", "name the zone"))
        )
        for entry in fields.entries("spec.regions")
        if (name := entry.string("name", "name the region")) is not None
    }
    return _CloudProfile(obj, fields.optional_string("spec.type"), versions, machine_types, machine_images, regions)


# --- the Shoot's worker pools ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pool:
    field: str  # e.g. spec.provider.workers[0]
    name: str
    control_plane: bool
    minimum: int | None
    maximum: int | None
    zones: tuple[str, ...]
    machine_type: str | None
    architecture: str
    image_name: str | None
    image_version: str | None
    labels: dict[str, str]
    taints: tuple[dict[str, str], ...]
    system_components_allow: bool

    def describe(self) -> str:
        return f"{self.field} ({self.name!r})"

    def fact(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "zones": list(self.zones),
            "machine": {
                "type": self.machine_type,
                "architecture": self.architecture,
                "image": {"name": self.image_name, "version": self.image_version},
            },
            "labels": dict(self.labels),
            "taints": [dict(taint) for taint in self.taints],
            "system_components": {"allow": self.system_components_allow},
        }


def _read_pools(shoot: _Fields) -> list[_Pool]:
    entries = shoot.entries("spec.provider.workers")
    if not entries:
        shoot.problem("spec.provider.workers", "no worker pools; add the control-plane pool (controlPlane: {})")
    pools = [_read_pool(entry) for entry in entries]
    seen: dict[str, _Pool] = {}
    for pool in pools:
        earlier = seen.setdefault(pool.name, pool)
        if earlier is not pool and pool.name:
            shoot.problem(f"{pool.field}.name", f"{pool.name!r} is also the name of {earlier.field}; rename one")
    return pools


def _read_pool(worker: _Fields) -> _Pool:
    minimum, maximum = worker.count("minimum"), worker.count("maximum")
    if minimum is not None and maximum is not None and minimum > maximum:
        worker.problem("minimum", f"{minimum} is greater than maximum {maximum}; lower it or raise maximum")
    system_components = worker.raw("systemComponents")
    return _Pool(
        field=worker.prefix,
        name=worker.string("name", "name the pool") or "",
        # Presence marks the control-plane pool, as upstream (`controlPlane: {}` is enough).
        control_plane=worker.raw("controlPlane") is not None,
        minimum=minimum,
        maximum=maximum,
        zones=worker.strings("zones"),
        machine_type=worker.string("machine.type", "name one of the CloudProfile's machine types"),
        architecture=worker.optional_string("machine.architecture") or DEFAULT_ARCHITECTURE,
        image_name=worker.string("machine.image.name", "name one of the CloudProfile's machine images"),
        image_version=worker.optional_string("machine.image.version"),
        labels=worker.string_map("labels"),
        taints=_read_taints(worker),
        # Upstream allows system components when the field is absent and defaults it so.
        system_components_allow=system_components is None or worker.flag("systemComponents.allow") is True,
    )


def _read_taints(worker: _Fields) -> tuple[dict[str, str], ...]:
    taints = []
    for entry in worker.entries("taints"):
        key = entry.string("key", "give the taint a key")
        effect = entry.string("effect", f"set it to one of {', '.join(TAINT_EFFECTS)}")
        value = entry.optional_string("value")
        if effect is not None and effect not in TAINT_EFFECTS:
            entry.problem("effect", f"{effect!r} is not a taint effect; use one of {', '.join(TAINT_EFFECTS)}")
        elif key is not None and effect is not None:
            taints.append({"key": key, "effect": effect, **({"value": value} if value is not None else {})})
    return tuple(taints)


def _control_plane_pool(pools: list[_Pool], shoot: _Fields) -> _Pool | None:
    candidates = [pool for pool in pools if pool.control_plane]
    if not candidates:
        if pools:
            shoot.problem(
                "spec.provider.workers",
                "no pool has controlPlane, so this is not a self-hosted shoot; "
                "add `controlPlane: {}` to the pool whose machines run the control plane",
            )
        return None
    if len(candidates) > 1:
        names = " and ".join(pool.describe() for pool in candidates)
        shoot.problem("spec.provider.workers", f"{names} both have controlPlane; keep it on exactly one pool")
        return None
    return candidates[0]


def _check_control_plane_size(pool: _Pool, shoot: _Fields) -> None:
    if pool.minimum is None or pool.maximum is None:
        return
    if pool.minimum != pool.maximum:
        shoot.problem(
            f"{pool.field}.minimum",
            f"the control-plane pool needs minimum == maximum, got {pool.minimum} and {pool.maximum}; "
            "set both to 1, 3 or 5",
        )
    elif pool.minimum not in CONTROL_PLANE_SIZES:
        shoot.problem(
            f"{pool.field}.minimum",
            f"{pool.minimum} control-plane machines; set minimum and maximum to 1, 3 or 5 "
            "(an odd etcd membership; upstream gardenadm supports only 1, this collection 3 and 5 too)",
        )


def _check_pool_against_profile(
    pool: _Pool, shoot: _Fields, profile: _CloudProfile, region: str | None, region_zones: tuple[str, ...] | None
) -> None:
    machine_type = profile.machine_types.get(pool.machine_type or "")
    if pool.machine_type is not None and machine_type is None:
        shoot.problem(
            f"{pool.field}.machine.type",
            f"{pool.machine_type!r} is not a machine type of {profile.describe()}; "
            f"use one of: {_listing(profile.machine_types)}",
        )
    elif machine_type is not None and not machine_type.usable:
        shoot.problem(
            f"{pool.field}.machine.type",
            f"{pool.machine_type!r} is marked unusable in {profile.describe()}; pick a usable type",
        )
    elif machine_type is not None and machine_type.architecture not in (None, pool.architecture):
        shoot.problem(
            f"{pool.field}.machine.architecture",
            f"{pool.architecture!r} differs from the architecture {machine_type.architecture!r} of machine type "
            f"{pool.machine_type!r} in {profile.describe()}; set machine.architecture to it",
        )
    _check_pool_image(pool, shoot, profile)
    if region_zones is not None:
        for index, zone in enumerate(pool.zones):
            if zone not in region_zones:
                shoot.problem(
                    f"{pool.field}.zones[{index}]",
                    f"{zone!r} is not a zone of region {region!r} in {profile.describe()}; "
                    f"use one of: {_listing(region_zones)}",
                )


def _check_pool_image(pool: _Pool, shoot: _Fields, profile: _CloudProfile) -> None:
    if pool.image_name is None:
        return
    versions = profile.machine_images.get(pool.image_name)
    if versions is None:
        shoot.problem(
            f"{pool.field}.machine.image.name",
            f"{pool.image_name!r} is not a machine image of {profile.describe()}; "
            f"use one of: {_listing(profile.machine_images)}",
        )
    elif pool.image_version is not None and pool.image_version not in versions:
        shoot.problem(
            f"{pool.field}.machine.image.version",
            f"{pool.image_version!r} is not a version of image {pool.image_name!r} in {profile.describe()}; "
            f"use one of: {_listing(versions)}, or leave it unset",
        )


def _check_system_component_zones(pools: list[_Pool], control_plane: _Pool, shoot: _Fields) -> None:
    # Upstream rule: system components must be schedulable next to the control plane.
    for pool in pools:
        outside = [zone for zone in pool.zones if zone not in control_plane.zones]
        if not pool.control_plane and pool.system_components_allow and outside:
            shoot.problem(
                f"{pool.field}.zones",
                f"the pool allows system components but uses zones {_listing(outside)} outside the control-plane "
                f"pool's zones ({_listing(control_plane.zones)}); use those zones or set systemComponents.allow "
                "to false",
            )


# --- the Shoot's other fields ----------------------------------------------------------------------------------------


def _check_self_hosted_rules(shoot: _Fields) -> None:
    if shoot.obj.namespace != GARDEN_NAMESPACE:
        shoot.problem(
            "metadata.namespace",
            f"{shoot.obj.namespace!r}: self-hosted shoots must be in namespace {GARDEN_NAMESPACE!r}; move it there",
        )
    if shoot.raw("spec.seedName") is not None:
        shoot.problem("spec.seedName", "cannot be set for a self-hosted shoot; remove it")
    if shoot.raw("spec.hibernation") is not None:
        shoot.problem("spec.hibernation", "hibernation is not supported for self-hosted shoots; remove it")


def _check_cloud_profile_reference(shoot: _Fields, profile: _CloudProfile) -> None:
    reference = shoot.raw("spec.cloudProfile")
    if reference is not None:
        kind = shoot.optional_string("spec.cloudProfile.kind") or "CloudProfile"
        name = shoot.string("spec.cloudProfile.name", f"set it to {profile.obj.name!r}")
        field = "spec.cloudProfile"
    else:
        kind, field = "CloudProfile", "spec.cloudProfileName"
        name = shoot.string(field, f"set spec.cloudProfile.name to {profile.obj.name!r}")
    if kind != "CloudProfile":
        shoot.problem(f"{field}.kind", f"{kind!r} is not supported; reference the CloudProfile {profile.obj.name!r}")
    elif name is not None and name != profile.obj.name:
        shoot.problem(
            field if reference is None else f"{field}.name",
            f"names CloudProfile {name!r}, but the directory holds {profile.describe()}; "
            "reference that one or put the right CloudProfile in the directory",
        )


def _check_provider_type(shoot: _Fields, profile: _CloudProfile) -> str | None:
    provider_type = shoot.string("spec.provider.type", "set it to the CloudProfile's spec.type")
    if provider_type is not None and profile.type is not None and provider_type != profile.type:
        shoot.problem(
            "spec.provider.type",
            f"{provider_type!r} differs from spec.type {profile.type!r} of {profile.describe()}; make them equal",
        )
    return provider_type


def _region_zones(shoot: _Fields, profile: _CloudProfile) -> tuple[str | None, tuple[str, ...] | None]:
    region = shoot.string("spec.region", "name one of the CloudProfile's regions")
    if region is None:
        return None, None
    if region not in profile.regions:
        shoot.problem(
            "spec.region",
            f"{region!r} is not a region of {profile.describe()}; use one of: {_listing(profile.regions)}",
        )
        return region, None
    return region, profile.regions[region]


def _kubernetes_version(shoot: _Fields, profile: _CloudProfile) -> str | None:
    version = shoot.string("spec.kubernetes.version", "set it to a version the CloudProfile offers")
    if version is None:
        return None
    match = _VERSION.fullmatch(version)
    if match is None or match.group(3) is None:
        same_minor = [offered for offered in profile.kubernetes_versions if offered.startswith(f"{version}.")]
        example = f", e.g. {same_minor[-1]!r}" if same_minor else ""
        shoot.problem("spec.kubernetes.version", f"{version!r} is not a full version; give major.minor.patch{example}")
        return None
    if version not in profile.kubernetes_versions:
        shoot.problem(
            "spec.kubernetes.version",
            f"{version!r} is not offered by {profile.describe()}; use one of: "
            f"{_listing(profile.kubernetes_versions)}, or add it to the CloudProfile's spec.kubernetes.versions",
        )
        return None
    if (int(match.group(1)), int(match.group(2))) < OLDEST_KUBERNETES:
        oldest = ".".join(map(str, OLDEST_KUBERNETES))
        shoot.problem("spec.kubernetes.version", f"{version!r} is older than {oldest}; use {oldest} or newer")
        return None
    return version


def _networks(shoot: _Fields) -> dict[str, Network]:
    """The node, pod and service networks that parse; every other problem with them is reported."""
    parsed = {role: _network(shoot, f"spec.networking.{role}") for role in ("nodes", "pods", "services")}
    valid = {role: network for role, network in parsed.items() if network is not None}
    roles = list(valid)
    for position, first in enumerate(roles):
        for second in roles[position + 1 :]:
            if valid[first].version == valid[second].version and valid[first].overlaps(valid[second]):
                shoot.problem(
                    f"spec.networking.{second}",
                    f"{valid[second]} overlaps spec.networking.{first} {valid[first]}; give them disjoint ranges",
                )
    services = valid.get("services")
    if services is not None and services.num_addresses <= 10:
        shoot.problem(
            "spec.networking.services",
            f"{services} is too small for the cluster DNS address (the 10th address); use a /28 or larger",
        )
    return valid


def _network(shoot: _Fields, key: str) -> Network | None:
    text = shoot.string(key, "give a CIDR such as 10.250.0.0/24")
    if text is None:
        return None
    try:
        return ipaddress.ip_network(text)
    except ValueError as error:
        try:
            canonical = ipaddress.ip_network(text, strict=False)
        except ValueError:
            shoot.problem(key, f"{text!r} is not a valid CIDR ({error}); give one such as 10.250.0.0/24")
        else:
            shoot.problem(key, f"{text!r} has host bits set; write it as {canonical}")
        return None


def _dns_domain(shoot: _Fields) -> str | None:
    domain = shoot.string("spec.dns.domain", "set it: the API server is reached at api.<domain>")
    if domain is None:
        return None
    if not _is_dns_subdomain(f"api.{domain}"):
        shoot.problem(
            "spec.dns.domain",
            f"{domain!r} is not a valid DNS name (lower-case letters, digits, '-' and '.'; "
            "api.<domain> at most 253 characters); fix it",
        )
        return None
    return domain


def _is_dns_subdomain(name: str) -> bool:
    return len(name) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(name) is not None


def _check_project(project: _Fields, shoot: ManifestObject) -> None:
    namespace = project.string("spec.namespace", f"set it to {shoot.namespace!r}, the Shoot's namespace")
    if namespace is not None and namespace != shoot.namespace:
        project.problem(
            "spec.namespace",
            f"{namespace!r} differs from the namespace {shoot.namespace!r} of Shoot {shoot.name} ({shoot.origin}); "
            "make them equal",
        )


@dataclass(frozen=True)
class _Infrastructure:
    managed: bool  # the Shoot names a CredentialsBinding or SecretBinding
    credentials: ManifestObject | None  # the Secret with the cloud credentials the binding references, when found


def _infrastructure(manifests: Manifests, shoot: _Fields, *, required: bool) -> _Infrastructure:
    credentials_binding = shoot.optional_string("spec.credentialsBindingName")
    secret_binding = shoot.optional_string("spec.secretBindingName")
    if credentials_binding is not None and secret_binding is not None:
        shoot.problem(
            "spec.secretBindingName",
            "is incompatible with spec.credentialsBindingName; remove it (SecretBindings are deprecated)",
        )
    credentials = None
    if credentials_binding is not None:
        key = "spec.credentialsBindingName"
        binding = _referenced(manifests, shoot, key, "CredentialsBinding", credentials_binding)
        if binding is not None:
            credentials = _credentials_ref(manifests, _Fields.of(binding, shoot.problems), required=required)
    if secret_binding is not None:
        binding = _referenced(manifests, shoot, "spec.secretBindingName", "SecretBinding", secret_binding)
        if binding is not None:
            credentials = _secret_ref(manifests, _Fields.of(binding, shoot.problems))
    managed = credentials_binding is not None or secret_binding is not None
    if required and not managed:
        shoot.problem(
            "spec.credentialsBindingName",
            "missing, and so is spec.secretBindingName: the Shoot has no managed infrastructure, but medium touch "
            "(gardenadm bootstrap) creates the machines through it; set spec.credentialsBindingName and add the "
            f"CredentialsBinding and its Secret to {manifests.directory}",
        )
    return _Infrastructure(managed, credentials)


def _credentials_ref(manifests: Manifests, binding: _Fields, *, required: bool) -> ManifestObject | None:
    """The Secret a CredentialsBinding references; None for a WorkloadIdentity or when it is missing."""
    kind = binding.string("credentialsRef.kind", "set it to Secret or WorkloadIdentity")
    name = binding.string("credentialsRef.name", "name the Secret or WorkloadIdentity with the credentials")
    namespace = binding.optional_string("credentialsRef.namespace") or binding.obj.namespace
    if kind is not None and kind not in ("Secret", "WorkloadIdentity"):
        binding.problem("credentialsRef.kind", f"{kind!r} is not supported; use Secret or WorkloadIdentity")
        return None
    if kind is None or name is None:
        return None
    referenced = _referenced(manifests, binding, "credentialsRef", kind, name, namespace=namespace)
    if kind == "Secret":
        return referenced
    if required:
        binding.problem(
            "credentialsRef.kind",
            "WorkloadIdentity: medium touch hands the infrastructure extension the cloud credentials as a Secret "
            "and cannot issue workload identity tokens; reference a Secret with the credentials",
        )
    return None


def _secret_ref(manifests: Manifests, binding: _Fields) -> ManifestObject | None:
    """The Secret a SecretBinding references, when it is there."""
    name = binding.string("secretRef.name", "name the Secret with the cloud credentials")
    namespace = binding.optional_string("secretRef.namespace") or binding.obj.namespace
    if name is None:
        return None
    return _referenced(manifests, binding, "secretRef", "Secret", name, namespace=namespace)


def _credentials_fact(secret: ManifestObject | None, problems: list[str]) -> dict[str, Any] | None:
    if secret is None:
        return None
    data = _secret_data(_Fields.of(secret, problems))
    return {"secret_name": secret.name, "secret_namespace": secret.namespace, "data": data}


def _secret_data(secret: _Fields) -> dict[str, str]:
    """``data`` with ``stringData`` base64-encoded over it, as the API server merges them. Problems never quote
    a value: they are credentials."""
    data: dict[str, str] = {}
    for field, encode in (("data", False), ("stringData", True)):
        values = secret.raw(field)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            secret.problem(field, "must map keys to string values; fix it")
            continue
        for key, value in values.items():
            if not isinstance(value, str):
                secret.problem(f"{field}.{key}", "must be a string; quote it")
            elif encode:
                data[str(key)] = base64.b64encode(value.encode()).decode()
            elif not _is_base64(value):
                secret.problem(f"{field}.{key}", "is not base64; encode the value, or give it in stringData instead")
            else:
                data[str(key)] = value
    return data


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode("".join(text.split()), validate=True)  # line breaks are allowed, as in kubectl's output
    except (binascii.Error, ValueError):
        return False
    return True


def _without_metadata_noise(body: Mapping[str, Any]) -> dict[str, Any]:
    """The object with its metadata reduced to name, labels and annotations (without kubectl's last-applied copy),
    as it is written into other objects: what the API server or kubectl added says nothing about it."""
    metadata = body.get("metadata") or {}
    annotations = metadata.get("annotations")
    if isinstance(annotations, Mapping):
        annotations = {key: value for key, value in annotations.items() if key != _LAST_APPLIED}
    kept = {"name": metadata.get("name"), "labels": metadata.get("labels"), "annotations": annotations}
    return copy.deepcopy({**body, "metadata": {key: value for key, value in kept.items() if value}})


def _referenced(
    manifests: Manifests, fields: _Fields, key: str, kind: str, name: str, *, namespace: str | None = None
) -> ManifestObject | None:
    namespace = fields.obj.namespace if namespace is None else namespace
    found = manifests.find(kind, namespace, name)
    if found is None:
        fields.problem(
            key,
            f"references {kind} {namespace}/{name}, which is not in {manifests.directory}; add it "
            "(gardenadm discover downloads it)"
            + (" or unset the field for unmanaged infrastructure" if fields.obj.kind == "Shoot" else ""),
        )
    return found


def _shoot_state(manifests: Manifests, shoot: ManifestObject, problems: list[str]) -> dict[str, Any] | None:
    state = manifests.shoot_state
    if state is None:
        return None
    if (state.namespace, state.name) != (shoot.namespace, shoot.name):
        problems.append(
            f"{state.origin}: metadata: ShootState {state.namespace}/{state.name} does not belong to Shoot "
            f"{shoot.namespace}/{shoot.name}; a ShootState carries its Shoot's name and namespace"
        )
    return dict(state.body)


def _listing(items: Any) -> str:
    return ", ".join(str(item) for item in items) or "(none)"


# --- the machines ----------------------------------------------------------------------------------------------------

_Report = Callable[[str, str], None]  # typing's: collections.abc.Callable is not subscriptable on Python 3.8


@dataclass(frozen=True)
class _Site:
    """What the machines are checked against."""

    shoot: ManifestObject
    pools: list[_Pool]
    control_plane: _Pool | None
    nodes: Network | None


@dataclass(frozen=True)
class _Machine:
    """What could be resolved for one inventory host; None where its settings are wrong."""

    host: str
    node_name: str | None
    ip: str | None
    role: str | None
    pool: _Pool | None
    zone: str | None

    def fact(self) -> dict[str, Any] | None:
        if self.pool is None or None in (self.node_name, self.ip, self.role, self.zone):
            return None
        return {
            "node_name": self.node_name,
            "ip": self.ip,
            "role": self.role,
            "pool": self.pool.name,
            "zone": self.zone,
        }


def _resolve_machines(machines: Any, site: _Site, problems: list[str]) -> dict[str, dict[str, Any]]:
    if not isinstance(machines, Mapping):
        problems.append(f"machines: must map inventory hosts to their settings, got {machines!r}; fix it")
        return {}
    resolved = [_resolve_machine(str(host), settings, site, problems) for host, settings in machines.items()]
    _check_unique(resolved, "ip", problems)
    _check_unique(resolved, "node_name", problems)
    _check_control_plane_count(resolved, site, problems)
    _check_worker_counts(resolved, site, problems)
    return {machine.host: fact for machine in resolved if (fact := machine.fact()) is not None}


def _resolve_machine(host: str, settings: Any, site: _Site, problems: list[str]) -> _Machine:
    def problem(key: str, message: str) -> None:
        problems.append(f"inventory host {host}: {key}: {message}")

    if not isinstance(settings, Mapping):
        problems.append(f"inventory host {host}: must be a mapping with {', '.join(_MACHINE_KEYS)}; fix it")
        return _Machine(host, None, None, None, None, None)
    for key in settings:
        if key not in _MACHINE_KEYS:
            problem(str(key), f"unknown setting; use only {', '.join(_MACHINE_KEYS)}")
    node_name = _machine_string(settings, "node_name", problem)
    if node_name is not None and not _is_dns_subdomain(node_name):
        problem("node_name", f"{node_name!r} is not a valid DNS-1123 subdomain (lower-case, digits, '-', '.'); fix it")
        node_name = None
    ip = _machine_ip(text, site, problem) if (text := _machine_string(settings, "ip", problem)) else None
    role = _machine_string(settings, "role", problem)
    if role is not None and role not in MACHINE_ROLES:
        problem("role", f"{role!r} is not a role; use one of {', '.join(MACHINE_ROLES)}")
        role = None
    # Without one control-plane pool the pools are reported already; resolving against them would only mislead.
    resolvable = role is not None and site.control_plane is not None
    pool = _machine_pool(settings, role, site, problem) if resolvable else None
    zone = _machine_zone(settings, pool, problem) if pool is not None else None
    return _Machine(host, node_name, ip, role, pool, zone)


def _machine_string(settings: Mapping[str, Any], key: str, problem: _Report) -> str | None:
    value = settings.get(key)
    if isinstance(value, str) and value:
        return value
    problem(key, "missing; set it" if value in (None, "") else f"must be a string, got {value!r}; fix it")
    return None


def _machine_ip(text: str, site: _Site, problem: _Report) -> str | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        problem("ip", f"{text!r} is not an IP address; fix it")
        return None
    if site.nodes is not None and address not in site.nodes:
        problem(
            "ip",
            f"{address} is outside spec.networking.nodes {site.nodes} of Shoot {site.shoot.name} "
            f"({site.shoot.origin}); give an address in that network or change the Shoot",
        )
        return None
    return str(address)


def _machine_pool(settings: Mapping[str, Any], role: str, site: _Site, problem: _Report) -> _Pool | None:
    wanted = settings.get("pool")
    if wanted is not None and not isinstance(wanted, str):
        problem("pool", f"must be a string, got {wanted!r}; fix it")
        return None
    if role == "control-plane":
        pool = site.control_plane
        if pool is not None and wanted not in (None, pool.name):
            problem("pool", f"{wanted!r}: a control-plane machine belongs to the control-plane pool {pool.name!r}")
            return None
        return pool
    workers = [pool for pool in site.pools if not pool.control_plane]
    if wanted is None:
        if not workers:
            problem("pool", f"Shoot {site.shoot.name} ({site.shoot.origin}) has no worker pool; add one")
        return workers[0] if workers else None
    if site.control_plane is not None and wanted == site.control_plane.name:
        problem("pool", f"{wanted!r} is the control-plane pool; give a worker pool or make the host a control plane")
        return None
    pool = next((pool for pool in workers if pool.name == wanted), None)
    if pool is None:
        problem(
            "pool",
            f"{wanted!r} is not a worker pool of Shoot {site.shoot.name} ({site.shoot.origin}); "
            f"use one of: {_listing(pool.name for pool in workers)}",
        )
    return pool


def _machine_zone(settings: Mapping[str, Any], pool: _Pool, problem: _Report) -> str | None:
    zone = settings.get("zone")
    if zone is None:
        if len(pool.zones) > 1:
            problem("zone", f"missing; pool {pool.name!r} spans several zones, set one of: {_listing(pool.zones)}")
            return None
        return pool.zones[0] if pool.zones else ""
    if not pool.zones:
        problem("zone", f"{zone!r}, but pool {pool.name!r} ({pool.field}) has no zones; remove it or add zones")
        return None
    if zone not in pool.zones:
        problem(
            "zone",
            f"{zone!r} is not a zone of pool {pool.name!r} ({pool.field}); use one of: {_listing(pool.zones)}",
        )
        return None
    return zone


def _check_unique(machines: list[_Machine], key: str, problems: list[str]) -> None:
    hosts_by_value: dict[str, list[str]] = {}
    for machine in machines:
        value = getattr(machine, key)
        if value is not None:
            hosts_by_value.setdefault(value, []).append(machine.host)
    for value, hosts in hosts_by_value.items():
        if len(hosts) > 1:
            problems.append(f"inventory hosts {', '.join(hosts)}: {key}: all have {value}; give each its own")


def _check_control_plane_count(machines: list[_Machine], site: _Site, problems: list[str]) -> None:
    pool = site.control_plane
    if pool is None or pool.minimum != pool.maximum or pool.minimum not in CONTROL_PLANE_SIZES:
        return  # the pool itself is wrong and reported; a count against it would mislead
    hosts = [machine.host for machine in machines if machine.role == "control-plane"]
    if len(hosts) != pool.maximum:
        problems.append(
            f"inventory: the Shoot wants {pool.maximum} control-plane machines ({pool.field}.minimum/maximum in "
            f"{site.shoot.origin}), but {len(hosts)} have role control-plane: {_listing(hosts)}; "
            "add or remove hosts in the control_plane group, or change the pool"
        )


def _check_worker_counts(machines: list[_Machine], site: _Site, problems: list[str]) -> None:
    for pool in site.pools:
        hosts = [machine.host for machine in machines if machine.pool is pool and machine.role == "worker"]
        if not pool.control_plane and pool.maximum is not None and len(hosts) > pool.maximum:
            problems.append(
                f"inventory: pool {pool.name!r} allows at most {pool.maximum} machines ({pool.field}.maximum in "
                f"{site.shoot.origin}), but {len(hosts)} are assigned to it: {_listing(hosts)}; "
                "raise maximum or move hosts to another pool"
            )


# --- the fact --------------------------------------------------------------------------------------------------------


def compile_shoot_fact(
    manifests: Manifests, machines: Mapping[str, Any] | None = None, *, require_managed_infrastructure: bool = False
) -> dict[str, Any]:
    """Validate the manifests with the site's machines and return the ``shoot`` fact (design.md section 4).

    ``machines`` None means they are not known yet (medium touch creates them later): the manifests are checked
    as always, the machines not at all, and the fact's ``machines`` is empty. ``require_managed_infrastructure``
    makes a Shoot without a binding, or whose credentials are not a Secret, a problem.
    """
    problems: list[str] = []
    shoot_obj, project_obj = manifests.shoot, manifests.project
    shoot = _Fields.of(shoot_obj, problems)
    profile = _read_cloud_profile(manifests.cloud_profile, problems)

    _check_self_hosted_rules(shoot)
    _check_cloud_profile_reference(shoot, profile)
    _check_project(_Fields.of(project_obj, problems), shoot_obj)
    provider_type = _check_provider_type(shoot, profile)
    region, region_zones = _region_zones(shoot, profile)
    kubernetes_version = _kubernetes_version(shoot, profile)
    networking_type = shoot.string("spec.networking.type", "name the networking extension (CNI) type")
    networks = _networks(shoot)
    dns_domain = _dns_domain(shoot)
    infrastructure = _infrastructure(manifests, shoot, required=require_managed_infrastructure)
    credentials = _credentials_fact(infrastructure.credentials, problems)
    shoot_state = _shoot_state(manifests, shoot_obj, problems)

    pools = _read_pools(shoot)
    control_plane = _control_plane_pool(pools, shoot)
    for pool in pools:
        _check_pool_against_profile(pool, shoot, profile, region, region_zones)
    if control_plane is not None:
        _check_control_plane_size(control_plane, shoot)
        _check_system_component_zones(pools, control_plane, shoot)
    site = _Site(shoot_obj, pools, control_plane, networks.get("nodes"))
    # None: not known yet; medium touch validates the manifests before it creates the machines.
    resolved_machines = {} if machines is None else _resolve_machines(machines, site, problems)
    uid = shoot.optional_string("status.uid")

    if problems or control_plane is None:  # no control-plane pool always comes with a problem
        raise ManifestError(problems)
    services = networks["services"]
    return {
        "name": shoot_obj.name,
        "namespace": shoot_obj.namespace,
        "project": project_obj.name,
        "technical_id": f"shoot--{project_obj.name}--{shoot_obj.name}",
        "kubernetes_version": kubernetes_version,
        "cluster_domain": CLUSTER_DOMAIN,
        "dns_domain": dns_domain,
        "api_domain": f"api.{dns_domain}",
        "api_server_url": f"https://api.{dns_domain}",
        "networking_type": networking_type,
        "networks": {role: str(network) for role, network in networks.items()},
        "kubernetes_service_ip": str(services.network_address + 1),
        "dns_service_ip": str(services.network_address + 10),
        "control_plane_pool": control_plane.fact(),
        "worker_pools": [pool.fact() for pool in pools if not pool.control_plane],
        "managed_infrastructure": infrastructure.managed,
        "credentials": credentials,
        "provider": {"type": provider_type, "region": region},
        "machines": resolved_machines,
        "shoot_state": shoot_state,
        "uid": uid,
        "cloud_profile": _without_metadata_noise(manifests.cloud_profile.body),
        "shoot_manifest": copy.deepcopy(dict(shoot_obj.body)),
    }
