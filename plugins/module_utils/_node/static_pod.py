# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Static pods as gardenadm lays them out: a manifest for kubelet plus the files its volumes mount.

- `<manifest_dir>/<name>.yaml` (0640): the Pod, rendered by the conventions of gardenadm's
  translator (namespace kube-system, label static-pod=true, annotation gardener.cloud/config.mirror,
  host network, system-node-critical).
- `<files_dir>/<name>/<volume>/<file>`: one directory (0750) per volume, mounted as a hostPath.

The mirror annotation is a checksum over the pod and every file, so a changed file changes the
manifest and kubelet restarts the pod. Manifests are compared as data, not as text.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ansible_collections.gardener.autonomous.plugins.module_utils._node import files as fs
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import yaml

MIRROR_ANNOTATION = "gardener.cloud/config.mirror"
STATIC_POD_LABEL = "static-pod"
NAMESPACE = "kube-system"
MANIFEST_MODE = 0o640
DEFAULT_FILE_MODE = 0o640
DIRECTORY_MODE = 0o750

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_OCTAL_MODE = re.compile(r"^[0-7]{3,4}$")
_FILE_SPEC_KEYS = {"content", "mode"}


class StaticPodError(ValueError):
    """Invalid input; the message names fields and files, never file content."""


@dataclass(frozen=True)
class VolumeFile:
    """One file of a volume: `<files_dir>/<pod>/<volume>/<name>`."""

    volume: str
    name: str
    content: str = field(repr=False)  # file content may be a secret
    mode: int

    @property
    def relative_path(self) -> str:
        return f"{self.volume}/{self.name}"

    @property
    def data(self) -> bytes:
        return self.content.encode("utf-8")


def check_label(value: Any, what: str) -> None:
    """Pod and volume names are DNS-1123 labels; that also keeps them safe as path components."""
    if not isinstance(value, str) or not _DNS1123_LABEL.match(value):
        raise StaticPodError(
            f"{what} {value!r} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)"
        )


def check_file_name(volume: str, name: Any) -> None:
    if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\0" in name:
        raise StaticPodError(f"files.{volume}: file name {name!r} must be a single path component")


def parse_mode(value: Any, where: str) -> int:
    # Octal strings only: an unquoted YAML 0600 arrives as the integer 384, 600 as 600.
    if not isinstance(value, str) or not _OCTAL_MODE.match(value):
        raise StaticPodError(f'{where}.mode must be an octal string such as "0600", got {value!r}')
    return int(value, 8)


def parse_files(files: Mapping[str, Any] | None) -> dict[str, list[VolumeFile]]:
    """`{volume: {file: content | {content, mode}}}` -> `{volume: [VolumeFile, ...]}`, sorted by name."""
    volumes: dict[str, list[VolumeFile]] = {}
    for volume in sorted(files or {}):
        check_label(volume, "files: volume name")
        entries = files[volume] or {}
        if not isinstance(entries, Mapping):
            raise StaticPodError(f"files.{volume} must be a mapping of file names to contents")
        volumes[volume] = [_parse_file(volume, name, entries[name]) for name in sorted(entries)]
    return volumes


def _parse_file(volume: str, name: str, spec: Any) -> VolumeFile:
    check_file_name(volume, name)
    where = f"files.{volume}.{name}"
    mode = DEFAULT_FILE_MODE
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - _FILE_SPEC_KEYS)
        if unknown:
            raise StaticPodError(f"{where}: unknown keys {unknown} (allowed: content, mode)")
        if "mode" in spec:
            mode = parse_mode(spec["mode"], where)
        spec = spec.get("content")
    if not isinstance(spec, str):
        raise StaticPodError(f"{where}: content must be a string")
    return VolumeFile(volume, name, spec, mode)


def checksum(pod: Mapping[str, Any], volumes: Mapping[str, list[VolumeFile]]) -> str:
    """sha256 over a canonical JSON of the pod as given and every file's volume, name, mode and content."""
    document = {
        "pod": pod,
        "volumes": {
            volume: {item.name: {"mode": f"{item.mode:04o}", "content": item.content} for item in items}
            for volume, items in volumes.items()
        },
    }
    return hashlib.sha256(_canonical_json(document).encode("utf-8")).hexdigest()


def render(name: str, pod: Mapping[str, Any], files: Mapping[str, Any] | None, files_dir: str) -> dict[str, Any]:
    """The manifest kubelet reads for static pod `name`, its volumes in `<files_dir>/<name>/<volume>`."""
    check_label(name, "name")
    if not isinstance(pod, Mapping):
        raise StaticPodError("pod must be a mapping")
    volumes = parse_files(files)
    manifest = copy.deepcopy(dict(pod))
    for key, value in (("apiVersion", "v1"), ("kind", "Pod")):
        _require(manifest, key, value, "pod")
    metadata = _child_mapping(manifest, "metadata", "pod")
    _require(metadata, "name", name, "pod.metadata")
    _require(metadata, "namespace", NAMESPACE, "pod.metadata")
    _child_mapping(metadata, "labels", "pod.metadata")[STATIC_POD_LABEL] = "true"
    _child_mapping(metadata, "annotations", "pod.metadata")[MIRROR_ANNOTATION] = checksum(pod, volumes)
    spec = _child_mapping(manifest, "spec", "pod")
    for key, default in (("hostNetwork", True), ("priorityClassName", "system-node-critical")):
        if spec.get(key) is None:
            spec[key] = default
    if volumes:
        _add_host_path_volumes(spec, name, list(volumes), files_dir)
    return manifest


def _require(parent: dict[str, Any], key: str, value: str, where: str) -> None:
    if parent.get(key) is None:
        parent[key] = value
    elif parent[key] != value:
        raise StaticPodError(f"{where}.{key} is {parent[key]!r}; a static pod's {key} is {value!r}")


def _child_mapping(parent: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    if parent.get(key) is None:
        parent[key] = {}
    if not isinstance(parent[key], dict):
        raise StaticPodError(f"{where}.{key} must be a mapping")
    return parent[key]


def _add_host_path_volumes(spec: dict[str, Any], name: str, volume_names: list[str], files_dir: str) -> None:
    if spec.get("volumes") is None:
        spec["volumes"] = []
    declared = spec["volumes"]
    if not isinstance(declared, list):
        raise StaticPodError("pod.spec.volumes must be a list")
    for index, volume in enumerate(declared):
        if isinstance(volume, Mapping) and volume.get("name") in volume_names:
            raise StaticPodError(
                f"volume {volume['name']!r} from files clashes with pod.spec.volumes[{index}] of the same name"
            )
    declared.extend(
        {"name": volume, "hostPath": {"path": os.path.join(files_dir, name, volume), "type": "Directory"}}
        for volume in volume_names
    )


@lru_cache
def _manifest_dumper() -> type[yaml.SafeDumper]:
    """Block style; multi-line strings (scripts, configs) as literal blocks. Built on first use, so that this
    module imports without PyYAML."""

    class ManifestDumper(yaml.SafeDumper):
        pass

    ManifestDumper.add_representer(str, _represent_string)
    return ManifestDumper


def _represent_string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def dump(manifest: Mapping[str, Any]) -> str:
    """Stable, readable YAML: sorted keys (apiVersion, kind, metadata, spec), block style, no line folding."""
    return yaml.dump(
        manifest,
        Dumper=_manifest_dumper(),
        default_flow_style=False,
        sort_keys=True,
        allow_unicode=True,
        width=1 << 16,
    )


def parse_manifest(data: bytes | None) -> Any:
    """The YAML document in `data`, or None when there is none or it does not parse."""
    if data is None:
        return None
    try:
        return yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return None


def same_manifest(existing: bytes | None, manifest: Mapping[str, Any]) -> bool:
    """Whether the file content `existing` holds `manifest` as data (key order and formatting ignored)."""
    parsed = parse_manifest(existing)
    return parsed is not None and _canonical_json(parsed) == _canonical_json(manifest)


def _canonical_json(value: Any) -> str:
    # repr for what JSON lacks (YAML timestamps): such a value never equals a string.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=repr)


@dataclass
class Plan:
    """What reconciling one static pod changes on disk; computed without touching anything."""

    manifest_path: str
    pod_dir: str
    manifest: dict[str, Any] | None = None
    volume_files: list[VolumeFile] = field(default_factory=list)
    create_manifest_dir: bool = False
    directories: list[str] = field(default_factory=list)  # to create, or to give DIRECTORY_MODE
    writes: list[VolumeFile] = field(default_factory=list)
    write_manifest: bool = False
    fix_manifest_mode: bool = False
    removals: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            self.create_manifest_dir
            or self.directories
            or self.writes
            or self.write_manifest
            or self.fix_manifest_mode
            or self.removals
        )

    @property
    def checksum(self) -> str | None:
        return None if self.manifest is None else self.manifest["metadata"]["annotations"][MIRROR_ANNOTATION]

    def file_path(self, item: VolumeFile) -> str:
        return os.path.join(self.pod_dir, item.volume, item.name)

    @property
    def file_paths(self) -> list[str]:
        return [self.file_path(item) for item in self.volume_files]


def plan_present(
    name: str, pod: Mapping[str, Any], files: Mapping[str, Any] | None, manifest_dir: str, files_dir: str
) -> Plan:
    plan = _new_plan(name, manifest_dir, files_dir)
    plan.manifest = render(name, pod, files, files_dir)
    volumes = parse_files(files)
    plan.volume_files = [item for items in volumes.values() for item in items]
    plan.create_manifest_dir = not os.path.isdir(manifest_dir)
    wanted_directories = [plan.pod_dir] + [os.path.join(plan.pod_dir, volume) for volume in volumes]
    plan.directories = [
        path for path in wanted_directories if not (fs.is_directory(path) and fs.mode_of(path) == DIRECTORY_MODE)
    ]
    plan.writes = [item for item in plan.volume_files if not fs.matches(plan.file_path(item), item.data, item.mode)]
    plan.write_manifest = not same_manifest(fs.read_bytes(plan.manifest_path), plan.manifest)
    plan.fix_manifest_mode = not plan.write_manifest and fs.mode_of(plan.manifest_path) != MANIFEST_MODE
    plan.removals = _stale_paths(plan.pod_dir, volumes)
    return plan


def plan_absent(name: str, manifest_dir: str, files_dir: str) -> Plan:
    plan = _new_plan(name, manifest_dir, files_dir)
    # The manifest goes first: kubelet stops the pod before its files disappear.
    plan.removals = [path for path in (plan.manifest_path, plan.pod_dir) if os.path.lexists(path)]
    return plan


def _new_plan(name: str, manifest_dir: str, files_dir: str) -> Plan:
    check_label(name, "name")
    for option, path in (("manifest_dir", manifest_dir), ("files_dir", files_dir)):
        if not os.path.isabs(path):
            raise StaticPodError(f"{option} must be an absolute path, got {path!r}")
    return Plan(os.path.join(manifest_dir, f"{name}.yaml"), os.path.join(files_dir, name))


def _stale_paths(pod_dir: str, volumes: Mapping[str, list[VolumeFile]]) -> list[str]:
    stale = []
    for entry in fs.list_directory(pod_dir):
        path = os.path.join(pod_dir, entry)
        if entry not in volumes:
            stale.append(path)
        else:
            wanted = {item.name for item in volumes[entry]}
            stale.extend(os.path.join(path, name) for name in fs.list_directory(path) if name not in wanted)
    return stale


def apply(plan: Plan) -> None:
    """Carries out `plan`: files before the manifest (a pod never starts without its files), stale files last."""
    if plan.create_manifest_dir:
        fs.make_directories(os.path.dirname(plan.manifest_path), DIRECTORY_MODE)
    for directory in plan.directories:
        fs.ensure_directory(directory, DIRECTORY_MODE)
    for item in plan.writes:
        path = plan.file_path(item)
        if fs.is_directory(path):
            fs.remove(path)
        fs.write_atomic(path, item.data, item.mode)
    if plan.write_manifest and plan.manifest is not None:
        fs.write_atomic(plan.manifest_path, dump(plan.manifest).encode("utf-8"), MANIFEST_MODE)
    elif plan.fix_manifest_mode:
        fs.set_mode(plan.manifest_path, MANIFEST_MODE)
    for path in plan.removals:
        fs.remove(path)


def describe_on_disk(plan: Plan) -> str:
    """The diff's `before`: the manifest on disk (normalized when it parses) and its files as digests."""
    existing = fs.read_bytes(plan.manifest_path)
    parsed = parse_manifest(existing)
    if isinstance(parsed, Mapping):
        text = dump(parsed)
    else:
        text = "" if existing is None else existing.decode("utf-8", errors="replace")
    lines = []
    for relative in _regular_files(plan.pod_dir):
        path = os.path.join(plan.pod_dir, relative)
        lines.append(_file_line(relative, fs.mode_of(path) or 0, fs.read_bytes(path) or b""))
    return text + _files_section(plan.pod_dir, lines)


def describe_desired(plan: Plan) -> str:
    """The diff's `after`: the rendered manifest and its files as digests (never their content)."""
    if plan.manifest is None:
        return ""
    lines = [_file_line(item.relative_path, item.mode, item.data) for item in plan.volume_files]
    return dump(plan.manifest) + _files_section(plan.pod_dir, lines)


def _file_line(relative_path: str, mode: int, data: bytes) -> str:
    return f"{relative_path} {mode:04o} {hashlib.sha256(data).hexdigest()}"


def _files_section(pod_dir: str, lines: list[str]) -> str:
    if not lines:
        return ""
    header = f"# files in {pod_dir}: <volume>/<file> <mode> <sha256>\n"
    return header + "".join(f"# {line}\n" for line in lines)


def _regular_files(root: str) -> list[str]:
    """Relative paths of all regular files below `root`, sorted; symlinks are not followed."""
    found = []
    for directory, _subdirectories, names in os.walk(root):
        found.extend(
            os.path.relpath(os.path.join(directory, name), root)
            for name in names
            if fs.is_regular_file(os.path.join(directory, name))
        )
    return sorted(found)
