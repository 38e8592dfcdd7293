"""Static pod rendering, checksum, comparison and on-disk planning (plugins/module_utils/_node/static_pod.py)."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.gardener.autonomous.plugins.module_utils._node import static_pod as sp

SECRET = "s3cr3t-key-material-4711"
FILES_DIR = "/var/lib/static-pods"


def etcd_pod() -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "etcd"}},
        "spec": {
            "containers": [
                {
                    "name": "etcd",
                    "image": "localhost/etcd:v3.4",
                    "command": ["etcd", "--data-dir=/var/etcd/data/new.etcd"],
                    "volumeMounts": [{"name": "tls", "mountPath": "/etc/tls"}],
                }
            ],
            "volumes": [{"name": "data", "hostPath": {"path": "/var/lib/etcd-main/data", "type": "DirectoryOrCreate"}}],
        },
    }


def etcd_files(key: str = SECRET) -> dict[str, Any]:
    return {"tls": {"ca.crt": "CA", "tls.key": {"content": key, "mode": "0600"}}}


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


# --- render -----------------------------------------------------------------------------------


def test_render_follows_gardenadm_conventions() -> None:
    manifest = sp.render("etcd-main", etcd_pod(), etcd_files(), FILES_DIR)
    assert manifest["apiVersion"] == "v1"
    assert manifest["kind"] == "Pod"
    metadata = manifest["metadata"]
    assert metadata["name"] == "etcd-main"
    assert metadata["namespace"] == "kube-system"
    assert metadata["labels"] == {"app": "etcd", "static-pod": "true"}
    assert metadata["annotations"] == {
        "gardener.cloud/config.mirror": sp.checksum(etcd_pod(), sp.parse_files(etcd_files()))
    }
    assert manifest["spec"]["hostNetwork"] is True
    assert manifest["spec"]["priorityClassName"] == "system-node-critical"
    assert manifest["spec"]["volumes"] == [
        {"name": "data", "hostPath": {"path": "/var/lib/etcd-main/data", "type": "DirectoryOrCreate"}},
        {"name": "tls", "hostPath": {"path": "/var/lib/static-pods/etcd-main/tls", "type": "Directory"}},
    ]


def test_render_keeps_what_the_caller_set_and_does_not_mutate_the_input() -> None:
    pod = etcd_pod()
    pod["spec"]["hostNetwork"] = False
    pod["spec"]["priorityClassName"] = "system-cluster-critical"
    pod["apiVersion"] = "v1"
    pod["metadata"]["namespace"] = "kube-system"
    original = copy.deepcopy(pod)
    manifest = sp.render("etcd-main", pod, None, FILES_DIR)
    assert manifest["spec"]["hostNetwork"] is False
    assert manifest["spec"]["priorityClassName"] == "system-cluster-critical"
    assert manifest["spec"]["volumes"] == original["spec"]["volumes"]
    assert pod == original


def test_render_without_volumes_adds_no_volume_list() -> None:
    manifest = sp.render("pause", {"spec": {"containers": [{"name": "pause", "image": "pause"}]}}, {}, FILES_DIR)
    assert "volumes" not in manifest["spec"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"apiVersion": "apps/v1"}, "pod.apiVersion is 'apps/v1'"),
        ({"kind": "Deployment"}, "pod.kind is 'Deployment'"),
        ({"metadata": {"name": "other"}}, "pod.metadata.name is 'other'"),
        ({"metadata": {"namespace": "default"}}, "pod.metadata.namespace is 'default'"),
        ({"metadata": []}, "pod.metadata must be a mapping"),
        ({"spec": {"volumes": {"tls": {}}}}, "pod.spec.volumes must be a list"),
    ],
)
def test_render_rejects_what_a_static_pod_cannot_be(change: dict[str, Any], message: str) -> None:
    pod = {**etcd_pod(), **change}
    with pytest.raises(sp.StaticPodError, match=message.replace(".", r"\.")):
        sp.render("etcd-main", pod, etcd_files(), FILES_DIR)


def test_render_rejects_a_volume_declared_by_the_pod_and_files() -> None:
    pod = etcd_pod()
    pod["spec"]["volumes"].append({"name": "tls", "secret": {"secretName": "etcd-tls"}})
    with pytest.raises(sp.StaticPodError) as error:
        sp.render("etcd-main", pod, etcd_files(), FILES_DIR)
    assert "volume 'tls' from files clashes with pod.spec.volumes[1]" in str(error.value)


@pytest.mark.parametrize("name", ["Etcd", "etcd_main", "-etcd", "etcd-", "a" * 64, "", "../etcd", "etcd/main"])
def test_pod_names_are_dns1123_labels(name: str) -> None:
    with pytest.raises(sp.StaticPodError, match="not a DNS-1123 label"):
        sp.render(name, etcd_pod(), None, FILES_DIR)


def test_a_63_character_name_is_valid() -> None:
    assert sp.render("a" * 63, etcd_pod(), None, FILES_DIR)["metadata"]["name"] == "a" * 63


# --- files ------------------------------------------------------------------------------------


def test_parse_files_applies_default_and_explicit_modes_in_sorted_order() -> None:
    volumes = sp.parse_files(
        {"z": {"b": "B", "a": {"content": "A"}}, "kubeconfig": {"kubeconfig": {"content": "K", "mode": "600"}}}
    )
    assert list(volumes) == ["kubeconfig", "z"]
    assert [(item.relative_path, item.mode) for item in volumes["z"]] == [("z/a", 0o640), ("z/b", 0o640)]
    assert volumes["kubeconfig"][0].mode == 0o600
    assert volumes["kubeconfig"][0].data == b"K"


def test_volume_file_repr_hides_content() -> None:
    item = sp.parse_files(etcd_files())["tls"][1]
    assert SECRET not in repr(item)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"tls": {"../escape": SECRET}}, "single path component"),
        ({"tls": {"a/b": SECRET}}, "single path component"),
        ({"tls": {"..": SECRET}}, "single path component"),
        ({"tls": {".": SECRET}}, "single path component"),
        ({"tls": {"": SECRET}}, "single path component"),
        ({"../tls": {"a": SECRET}}, "not a DNS-1123 label"),
        ({"Tls": {"a": SECRET}}, "not a DNS-1123 label"),
        ({"tls": [SECRET]}, "must be a mapping"),
        ({"tls": {"a": {"content": SECRET, "mode": 384}}}, 'octal string such as "0600"'),
        ({"tls": {"a": {"content": SECRET, "mode": "0999"}}}, 'octal string such as "0600"'),
        ({"tls": {"a": {"content": SECRET, "mode": "rw-r-----"}}}, 'octal string such as "0600"'),
        ({"tls": {"a": {"content": SECRET, "owner": "root"}}}, "unknown keys"),
        ({"tls": {"a": {"mode": "0600"}}}, "content must be a string"),
        ({"tls": {"a": 42}}, "content must be a string"),
    ],
)
def test_invalid_files_are_rejected_without_revealing_content(files: dict[str, Any], message: str) -> None:
    with pytest.raises(sp.StaticPodError, match=message) as error:
        sp.parse_files(files)
    assert SECRET not in str(error.value)


# --- checksum ---------------------------------------------------------------------------------


def annotation(manifest: dict[str, Any]) -> str:
    return manifest["metadata"]["annotations"]["gardener.cloud/config.mirror"]


def test_checksum_is_stable_across_key_order() -> None:
    pod = etcd_pod()
    reordered = json.loads(json.dumps(pod, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    files = etcd_files()
    reordered_files = {"tls": dict(reversed(list(files["tls"].items())))}
    first = sp.render("etcd-main", pod, files, FILES_DIR)
    second = sp.render("etcd-main", reordered, reordered_files, FILES_DIR)
    assert annotation(first) == annotation(second)
    assert len(annotation(first)) == 64
    assert int(annotation(first), 16) >= 0


@pytest.mark.parametrize(
    "files",
    [
        etcd_files(key="rotated-key"),
        {"tls": {"ca.crt": "CA", "tls.key": {"content": SECRET, "mode": "0640"}}},
        {"tls": {"ca.crt": "CA", "tls.key": {"content": SECRET, "mode": "0600"}, "extra": ""}},
        {"tls": {"ca.crt": "CA", "tls.key": {"content": SECRET, "mode": "0600"}}, "empty": {}},
        {"tls": {"ca.pem": "CA", "tls.key": {"content": SECRET, "mode": "0600"}}},
    ],
    ids=["content", "mode", "added-file", "added-volume", "renamed-file"],
)
def test_checksum_changes_when_any_file_changes(files: dict[str, Any]) -> None:
    assert annotation(sp.render("etcd-main", etcd_pod(), files, FILES_DIR)) != annotation(
        sp.render("etcd-main", etcd_pod(), etcd_files(), FILES_DIR)
    )


def test_checksum_changes_when_the_pod_changes() -> None:
    pod = etcd_pod()
    pod["spec"]["containers"][0]["image"] = "localhost/etcd:v3.5"
    assert annotation(sp.render("etcd-main", pod, etcd_files(), FILES_DIR)) != annotation(
        sp.render("etcd-main", etcd_pod(), etcd_files(), FILES_DIR)
    )


# --- dump and semantic comparison -------------------------------------------------------------


def test_dump_is_block_style_sorted_and_round_trips() -> None:
    pod = etcd_pod()
    pod["spec"]["containers"][0]["args"] = ["--script", "set -e\necho one\necho two\n", "x" * 300]
    manifest = sp.render("etcd-main", pod, etcd_files(), FILES_DIR)
    text = sp.dump(manifest)
    assert text.startswith("apiVersion: v1\nkind: Pod\nmetadata:\n")
    assert "{" not in text
    assert "  - |\n      set -e\n      echo one\n" in text
    assert "x" * 300 in text  # not folded
    assert yaml.safe_load(text) == manifest
    assert sp.dump(yaml.safe_load(text)) == text


def test_same_manifest_ignores_formatting_and_key_order() -> None:
    manifest = sp.render("etcd-main", etcd_pod(), etcd_files(), FILES_DIR)
    as_json = json.dumps(dict(reversed(list(manifest.items()))), indent=7).encode()
    assert sp.same_manifest(sp.dump(manifest).encode(), manifest)
    assert sp.same_manifest(as_json, manifest)


def test_same_manifest_sees_real_changes() -> None:
    manifest = sp.render("etcd-main", etcd_pod(), etcd_files(), FILES_DIR)
    changed = copy.deepcopy(manifest)
    changed["spec"]["hostNetwork"] = 1  # equal to True in Python, not in Kubernetes
    assert not sp.same_manifest(sp.dump(changed).encode(), manifest)
    assert not sp.same_manifest(b"apiVersion: v1\nkind: [", manifest)
    assert not sp.same_manifest(b"\xff\xfe", manifest)
    assert not sp.same_manifest(b"", manifest)
    assert not sp.same_manifest(None, manifest)


# --- planning and applying on disk ------------------------------------------------------------


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "manifests", tmp_path / "static-pods"


def plan(dirs: tuple[Path, Path], files: dict[str, Any] | None = None) -> sp.Plan:
    manifests, static_pods = dirs
    return sp.plan_present(
        "etcd-main", etcd_pod(), etcd_files() if files is None else files, str(manifests), str(static_pods)
    )


def test_plan_apply_then_nothing_left_to_do(dirs: tuple[Path, Path]) -> None:
    manifests, static_pods = dirs
    first = plan(dirs)
    assert first.changed
    assert not manifests.exists()
    sp.apply(first)

    manifest_file = manifests / "etcd-main.yaml"
    assert mode(manifest_file) == 0o640
    assert yaml.safe_load(manifest_file.read_text()) == first.manifest
    assert mode(static_pods / "etcd-main") == 0o750
    assert mode(static_pods / "etcd-main" / "tls") == 0o750
    assert (static_pods / "etcd-main" / "tls" / "tls.key").read_text() == SECRET
    assert mode(static_pods / "etcd-main" / "tls" / "tls.key") == 0o600
    assert mode(static_pods / "etcd-main" / "tls" / "ca.crt") == 0o640
    assert first.file_paths == [str(static_pods / "etcd-main" / "tls" / name) for name in ("ca.crt", "tls.key")]
    assert first.checksum == annotation(first.manifest)

    assert not plan(dirs).changed


def test_plan_repairs_modes(dirs: tuple[Path, Path]) -> None:
    manifests, static_pods = dirs
    sp.apply(plan(dirs))
    (manifests / "etcd-main.yaml").chmod(0o644)
    (static_pods / "etcd-main" / "tls").chmod(0o755)
    (static_pods / "etcd-main" / "tls" / "tls.key").chmod(0o644)
    repair = plan(dirs)
    assert repair.fix_manifest_mode and not repair.write_manifest
    assert repair.directories == [str(static_pods / "etcd-main" / "tls")]
    assert [item.relative_path for item in repair.writes] == ["tls/tls.key"]
    sp.apply(repair)
    assert mode(manifests / "etcd-main.yaml") == 0o640
    assert mode(static_pods / "etcd-main" / "tls" / "tls.key") == 0o600
    assert not plan(dirs).changed


def test_plan_removes_stale_files_and_volumes_after_writing(dirs: tuple[Path, Path]) -> None:
    _manifests, static_pods = dirs
    sp.apply(plan(dirs, {"tls": {"ca.crt": "CA", "old.crt": "OLD"}, "legacy": {"x": "X"}}))
    (static_pods / "etcd-main" / "stray-file").write_text("stray")
    update = plan(dirs, {"tls": {"ca.crt": "CA"}})
    assert update.removals == [
        str(static_pods / "etcd-main" / name) for name in ("legacy", "stray-file", "tls/old.crt")
    ]
    sp.apply(update)
    assert sorted(os.listdir(static_pods / "etcd-main")) == ["tls"]
    assert os.listdir(static_pods / "etcd-main" / "tls") == ["ca.crt"]


def test_plan_replaces_wrong_kinds_of_entries(dirs: tuple[Path, Path]) -> None:
    _manifests, static_pods = dirs
    (static_pods / "etcd-main").mkdir(parents=True)
    (static_pods / "etcd-main" / "tls").write_text("a file where the volume directory belongs")
    sp.apply(plan(dirs, {"tls": {"ca.crt": "CA"}}))
    (static_pods / "etcd-main" / "tls" / "ca.crt").unlink()
    (static_pods / "etcd-main" / "tls" / "ca.crt").mkdir()
    sp.apply(plan(dirs, {"tls": {"ca.crt": "CA"}}))
    assert (static_pods / "etcd-main" / "tls" / "ca.crt").read_text() == "CA"
    assert not plan(dirs, {"tls": {"ca.crt": "CA"}}).changed


def test_plan_absent_removes_manifest_then_files(dirs: tuple[Path, Path]) -> None:
    manifests, static_pods = dirs
    sp.apply(plan(dirs))
    absent = sp.plan_absent("etcd-main", str(manifests), str(static_pods))
    assert absent.removals == [str(manifests / "etcd-main.yaml"), str(static_pods / "etcd-main")]
    assert absent.checksum is None
    assert absent.file_paths == []
    sp.apply(absent)
    assert os.listdir(manifests) == []
    assert os.listdir(static_pods) == []
    assert not sp.plan_absent("etcd-main", str(manifests), str(static_pods)).changed


def test_plan_requires_absolute_directories() -> None:
    with pytest.raises(sp.StaticPodError, match="files_dir must be an absolute path"):
        sp.plan_present("etcd-main", etcd_pod(), None, "/etc/kubernetes/manifests", "static-pods")
    with pytest.raises(sp.StaticPodError, match="manifest_dir must be an absolute path"):
        sp.plan_absent("etcd-main", "manifests", "/var/lib/static-pods")


def test_descriptions_show_files_as_digests_only(dirs: tuple[Path, Path]) -> None:
    first = plan(dirs)
    assert sp.describe_on_disk(first) == ""
    after = sp.describe_desired(first)
    sp.apply(first)
    before = sp.describe_on_disk(plan(dirs))
    assert before == after
    assert SECRET not in after
    assert "# tls/tls.key 0600 " in after
    assert "# tls/ca.crt 0640 " in after
    assert after.startswith(sp.dump(first.manifest))
