"""The node_files module, run for real through ansible-playbook on localhost (connection local)."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import playbook
from support.playbook import APPLY, CHECK, PlaybookRunner

MODULE = "gardener.autonomous.node_files"
SECRET = "s3cr3t-KEY-4711-node-files"
PUBLIC = "public-MARK-0815-node-files"
PUBLIC_CA = "PUBLIC CA\n"
ME = pwd.getpwuid(os.geteuid()).pw_name


class Machine:
    """A temporary directory standing in for a machine's root, and a batch of three files in it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "etc" / "containerd" / "config.toml"
        self.ca = root / "var" / "lib" / "kubelet" / "ca.crt"
        self.pki = root / "var" / "lib" / "kubelet" / "pki"
        self.key = self.pki / "kubelet.key"

    def args(self, key: str = SECRET, key_mode: str = "0600", ca: str = PUBLIC_CA, **extra: Any) -> dict[str, Any]:
        return {
            "files": [
                {"path": str(self.config), "content": "version = 2\n", "mode": "0644"},
                {"path": str(self.ca), "content": ca, "mode": "0644", "owner": ME, "group": str(os.getegid())},
                {"path": str(self.key), "content": key, "mode": key_mode},
            ],
            "directories": [{"path": str(self.pki), "mode": "0700"}],
            **extra,
        }

    @property
    def paths(self) -> list[Path]:
        return [self.config, self.ca, self.key]


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path / "machine")


@pytest.fixture
def runner(tmp_path: Path) -> PlaybookRunner:
    return PlaybookRunner(tmp_path)


def wrap_ansible_playbook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, before: str = "", after: str = "") -> None:
    """Makes the runner call `<before> ansible-playbook <its arguments> <after>`."""
    wrapper = tmp_path / "ansible-playbook"
    wrapper.write_text(f'#!/bin/sh\nexec {before} {playbook.ANSIBLE_PLAYBOOK} "$@" {after}\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(playbook, "ANSIBLE_PLAYBOOK", wrapper)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_check_apply_and_idempotence(machine: Machine, runner: PlaybookRunner) -> None:
    args = machine.args()
    check, apply, idempotence_check, idempotence = runner.run(
        MODULE, (args, CHECK), (args, APPLY), (args, CHECK), (args, APPLY)
    )

    assert not any(result.get("failed") for result in (check, apply, idempotence_check, idempotence))
    assert [check["changed"], apply["changed"], idempotence_check["changed"], idempotence["changed"]] == [
        True,
        True,
        False,
        False,
    ]
    paths = [str(path) for path in machine.paths]
    assert check["changed_files"] == apply["changed_files"] == paths
    assert idempotence_check["changed_files"] == idempotence["changed_files"] == []
    created = [str(machine.root)]
    created += [str(machine.root / part) for part in ("etc", "etc/containerd", "var", "var/lib", "var/lib/kubelet")]
    created.append(str(machine.pki))
    assert check["directories_created"] == apply["directories_created"] == created
    assert idempotence["directories_created"] == []
    assert idempotence["files"] == [
        {"path": paths[0], "mode": "0644", "sha256": sha256("version = 2\n"), "changed": False},
        {"path": paths[1], "mode": "0644", "sha256": sha256(PUBLIC_CA), "changed": False},
        {"path": paths[2], "mode": "0600", "sha256": sha256(SECRET), "changed": False},
    ]
    assert [item["changed"] for item in apply["files"]] == [True, True, True]

    assert machine.config.read_text() == "version = 2\n"
    assert machine.ca.read_text() == "PUBLIC CA\n"
    assert machine.key.read_text() == SECRET
    assert [mode(path) for path in machine.paths] == [0o644, 0o644, 0o600]
    assert mode(machine.pki) == 0o700
    assert mode(machine.root / "etc" / "containerd") == 0o755
    assert sorted(os.listdir(machine.pki)) == ["kubelet.key"]  # no temporary files left
    assert SECRET not in runner.output
    assert SECRET not in json.dumps([check, apply, idempotence_check, idempotence])


def test_check_mode_writes_nothing(machine: Machine, runner: PlaybookRunner) -> None:
    (check,) = runner.run(MODULE, (machine.args(), CHECK))
    assert check["changed"] is True
    assert not machine.root.exists()


def test_a_mode_change_only_changes_the_mode(machine: Machine, runner: PlaybookRunner) -> None:
    runner.run(MODULE, (machine.args(), APPLY))
    inode = os.lstat(machine.key).st_ino
    machine.pki.chmod(0o755)  # drifted on disk
    check, changed, again = runner.run(
        MODULE,
        (machine.args(key_mode="0640"), CHECK),
        (machine.args(key_mode="0640"), APPLY),
        (machine.args(key_mode="0640"), APPLY),
    )
    assert check["changed"] is changed["changed"] is True
    assert check["changed_files"] == changed["changed_files"] == [str(machine.key)]
    assert again["changed"] is False
    assert mode(machine.key) == 0o640
    assert mode(machine.pki) == 0o700
    assert machine.key.read_text() == SECRET
    assert os.lstat(machine.key).st_ino == inode


def test_a_changed_content_rewrites_only_that_file(machine: Machine, runner: PlaybookRunner) -> None:
    runner.run(MODULE, (machine.args(), APPLY))
    before = {path: os.lstat(path).st_ino for path in machine.paths}
    (changed,) = runner.run(MODULE, (machine.args(ca="ROTATED CA\n"), APPLY))
    assert changed["changed"] is True
    assert changed["changed_files"] == [str(machine.ca)]
    assert [item["changed"] for item in changed["files"]] == [False, True, False]
    assert machine.ca.read_text() == "ROTATED CA\n"
    assert mode(machine.ca) == 0o644
    assert os.lstat(machine.config).st_ino == before[machine.config]
    assert os.lstat(machine.key).st_ino == before[machine.key]
    assert os.lstat(machine.ca).st_ino != before[machine.ca]  # replaced atomically, not rewritten in place


def test_diff_shows_digests_and_content_only_when_not_secret(
    machine: Machine, runner: PlaybookRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrap_ansible_playbook(monkeypatch, tmp_path, after="--diff")  # the runner adds -v
    rotated = "s3cr3t-ROTATED-0042-node-files"
    check, apply, rotate = runner.run(
        MODULE, (machine.args(), CHECK), (machine.args(), APPLY), (machine.args(key=rotated), APPLY)
    )
    secret_output = runner.output
    assert SECRET not in secret_output
    assert rotated not in secret_output
    assert "--- before" in secret_output
    assert f"{machine.key} absent" in check["diff"]["before"]
    assert f"{machine.key} 0600 {sha256(SECRET)}\n" in apply["diff"]["after"]
    assert f"{machine.pki}/ 0700\n" in apply["diff"]["after"]
    assert f"{machine.ca} 0644 {sha256(PUBLIC_CA)} owner={ME} group=" in apply["diff"]["after"]
    assert f"{machine.key} 0600 {sha256(SECRET)}\n" in rotate["diff"]["before"]
    assert f"{machine.key} 0600 {sha256(rotated)}\n" in rotate["diff"]["after"]
    assert "********" not in json.dumps([check["diff"], apply["diff"], rotate["diff"]])

    public = machine.args(key=PUBLIC, secret=False)
    (shown,) = runner.run(MODULE, (public, APPLY))
    assert f"{machine.key} 0600 {sha256(PUBLIC)}\n    {PUBLIC}\n" in shown["diff"]["after"]
    assert f"+    {PUBLIC}" in runner.output
    assert f"-    {rotated}" in runner.output  # with secret=false, what is on disk shows too


def test_vvv_shows_no_secret(machine: Machine, tmp_path: Path) -> None:
    runner = PlaybookRunner(tmp_path, verbosity=3)
    (applied,) = runner.run(MODULE, (machine.args(), {**APPLY, "diff": True}))
    assert applied["changed"] is True
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in runner.output  # the invocation is shown, masked
    assert SECRET not in runner.output


def test_bad_input_fails_before_anything_of_the_batch_is_written(
    machine: Machine, runner: PlaybookRunner, tmp_path: Path
) -> None:
    obstacles = tmp_path / "obstacles"
    obstacles.mkdir()
    elsewhere = obstacles / "elsewhere"
    elsewhere.write_text("untouched")
    (obstacles / "link").symlink_to(elsewhere)
    (obstacles / "directory").mkdir()
    (obstacles / "a-file").write_text("untouched")

    def batch(last: dict[str, Any]) -> dict[str, Any]:
        args = machine.args()
        args["files"].append(last)
        return args

    cases = {
        "relative": (
            {"path": "etc/x", "content": "bad-batch-content", "mode": "0644"},
            "files[3]: path 'etc/x' is not absolute",
        ),
        "unnormalized": (
            {"path": f"{machine.root}/../x", "content": "bad-batch-content", "mode": "0644"},
            "is not normalized",
        ),
        "missing mode": (
            {"path": f"{machine.root}/x", "content": "bad-batch-content"},
            f'files[3] ({machine.root}/x): mode is required, an octal string such as "0644"',
        ),
        "unquoted mode": (
            {"path": f"{machine.root}/x", "content": "bad-batch-content", "mode": 0o644},
            f'files[3] ({machine.root}/x): mode must be an octal string such as "0600", got 420 (quote it',
        ),
        "bad mode": (
            {"path": f"{machine.root}/x", "content": "bad-batch-content", "mode": "rw-r--r--"},
            "mode must be an octal string such as \"0600\", got 'rw-r--r--'",
        ),
        "duplicate": (
            {"path": str(machine.config), "content": "bad-batch-content", "mode": "0644"},
            f"files[3] ({machine.config}): duplicate path, also files[0]",
        ),
        "file as parent": (
            {"path": f"{machine.config}/x", "content": "bad-batch-content", "mode": "0644"},
            f"files[3] ({machine.config}/x): its parent {machine.config} is a file, files[0], not a directory",
        ),
        "symlink": (
            {"path": str(obstacles / "link"), "content": "bad-batch-content", "mode": "0644"},
            "is a symlink; node_files neither follows nor replaces symlinks",
        ),
        "directory": (
            {"path": str(obstacles / "directory"), "content": "bad-batch-content", "mode": "0644"},
            f"files[3] ({obstacles / 'directory'}): is a directory",
        ),
        "parent on disk is a file": (
            {"path": str(obstacles / "a-file" / "x"), "content": "bad-batch-content", "mode": "0644"},
            f"{obstacles / 'a-file'} exists and is not a directory",
        ),
        "unknown owner": (
            {"path": f"{machine.root}/x", "content": "bad-batch-content", "mode": "0644", "owner": "no-such-user-4711"},
            "unknown owner 'no-such-user-4711'",
        ),
    }
    results = runner.run(MODULE, *((batch(last), APPLY) for last, _message in cases.values()))
    for name, result, (_last, message) in zip(cases, results, cases.values()):
        assert result.get("failed") is True, name
        assert result["msg"].startswith("nothing was written: "), name
        assert message in result["msg"], name
        assert result["changed"] is False, name
    assert not machine.root.exists()
    assert elsewhere.read_text() == "untouched"
    assert (obstacles / "link").is_symlink()
    assert (obstacles / "a-file").read_text() == "untouched"
    assert sorted(os.listdir(obstacles)) == ["a-file", "directory", "elsewhere", "link"]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_an_unwritable_directory_fails_before_anything_is_written(
    machine: Machine, runner: PlaybookRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root writes anywhere; without CAP_DAC_OVERRIDE the permission bits apply to it too.
    caps = "-dac_override,-dac_read_search"
    wrap_ansible_playbook(monkeypatch, tmp_path, before=f"setpriv --inh-caps={caps} --bounding-set={caps}")
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    args = machine.args()
    args["files"].append({"path": str(read_only / "etc" / "x"), "content": "bad-batch-content", "mode": "0644"})
    (failed,) = runner.run(MODULE, (args, APPLY))
    assert failed.get("failed") is True, failed
    assert f"nothing was written: cannot write {read_only}/etc: directory {read_only} is not writable" in failed["msg"]
    assert not machine.root.exists()


def find_python38() -> str | None:
    pyenv = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    for candidate in filter(None, [shutil.which("python3.8"), *pyenv]):
        if subprocess.run([candidate, "-c", ""], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


PYTHON38 = find_python38()


@pytest.mark.skipif(PYTHON38 is None, reason="no Python 3.8")
def test_runs_on_python_38_targets(
    machine: Machine, runner: PlaybookRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = tmp_path / "python38-runs"
    interpreter = tmp_path / "python38"
    interpreter.write_text(f'#!/bin/sh\necho run >> {runs}\nexec {PYTHON38} "$@"\n')
    interpreter.chmod(0o755)
    wrap_ansible_playbook(monkeypatch, tmp_path, after=f"-e ansible_python_interpreter={interpreter}")
    args = machine.args()
    check, apply, again = runner.run(MODULE, (args, CHECK), (args, APPLY), (args, APPLY))
    assert not apply.get("failed"), apply.get("msg")
    assert len(runs.read_text().splitlines()) >= 3
    assert [check["changed"], apply["changed"], again["changed"]] == [True, True, False]
    assert machine.key.read_text() == SECRET
