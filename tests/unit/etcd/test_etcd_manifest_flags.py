"""The --initial-cluster flags of an etcd static pod manifest (plugins/module_utils/_etcd/manifest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.manifest import (
    ManifestError,
    initial_flags_from_pod,
    read_initial_flags,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.membership import InitialFlags

CLUSTER = "cp-0=https://10.0.0.10:2380,cp-1=https://10.0.0.11:2380"


def pod(*containers: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "etcd-main", "namespace": "kube-system"},
        "spec": {"containers": list(containers)},
    }


def etcd(command: list[str] | None = None, args: list[str] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "etcd", "image": "localhost/etcd:v3.4.23"}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    return container


BASE = ["etcd", "--name=cp-0", "--data-dir=/var/etcd/data/new.etcd", "--initial-cluster-token=etcd-main"]

FLAG_CASES = [
    (
        "equals-form",
        pod(etcd([*BASE, f"--initial-cluster={CLUSTER}", "--initial-cluster-state=existing"])),
        InitialFlags(CLUSTER, "existing"),
    ),
    (
        "state-defaults-to-new-like-etcd",
        pod(etcd([*BASE, f"--initial-cluster={CLUSTER}"])),
        InitialFlags(CLUSTER, "new"),
    ),
    (
        "separate-value-and-single-dash",
        pod(etcd([*BASE, "-initial-cluster", CLUSTER, "--initial-cluster-state", "existing"])),
        InitialFlags(CLUSTER, "existing"),
    ),
    (
        "split-between-command-and-args",
        pod(etcd(["etcd"], ["--initial-cluster-state=existing", f"--initial-cluster={CLUSTER}"])),
        InitialFlags(CLUSTER, "existing"),
    ),
    (
        "last-occurrence-wins-as-in-go",
        pod(etcd([*BASE, "--initial-cluster=old=https://x:2380", f"--initial-cluster={CLUSTER}"])),
        InitialFlags(CLUSTER, "new"),
    ),
    (
        "first-container-with-the-flag",
        pod(
            {"name": "backup", "image": "localhost/backup", "args": ["--initial-cluster-state=existing"]},
            etcd([*BASE, f"--initial-cluster={CLUSTER}", "--initial-cluster-state=new"]),
        ),
        InitialFlags(CLUSTER, "new"),
    ),
    ("no-flags", pod(etcd(BASE)), None),
    ("token-flag-is-not-the-cluster-flag", pod(etcd(["etcd", "--initial-cluster-token=x"])), None),
    ("no-containers", pod(), None),
    ("no-command", pod(etcd()), None),
]


@pytest.mark.parametrize(("manifest", "expected"), [case[1:] for case in FLAG_CASES], ids=[c[0] for c in FLAG_CASES])
def test_initial_flags_from_pod(manifest: dict[str, Any], expected: InitialFlags | None) -> None:
    assert initial_flags_from_pod(manifest) == expected


@pytest.mark.parametrize(
    ("manifest", "error"),
    [
        (pod(etcd([*BASE, f"--initial-cluster={CLUSTER}", "--initial-cluster-state=NEW"])), "neither 'new' nor"),
        ({"kind": "Pod"}, "is not a Pod"),
        ("text", "is not a Pod"),
    ],
    ids=["invalid-state", "no-spec", "not-a-mapping"],
)
def test_invalid_manifests(manifest: Any, error: str) -> None:
    with pytest.raises(ManifestError, match=error):
        initial_flags_from_pod(manifest)


def test_read_initial_flags_from_a_file(tmp_path: Path) -> None:
    manifest = tmp_path / "etcd-main.yaml"
    manifest.write_text(yaml.safe_dump(pod(etcd([*BASE, f"--initial-cluster={CLUSTER}"]))))
    assert read_initial_flags(str(manifest)) == InitialFlags(CLUSTER, "new")
    assert read_initial_flags(str(tmp_path / "missing.yaml")) is None
    manifest.write_text("spec: [unclosed\n")
    with pytest.raises(ManifestError, match=rf"{manifest} is not valid YAML"):
        read_initial_flags(str(manifest))
