"""Parsing, planning, applying and describing a batch of files (plugins/module_utils/_node/node_files.py)."""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._node import node_files as nf

SECRET = "s3cr3t-key-material-0815"
NOBODY = 65534
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def entry(path: Any, content: Any = "x", mode: Any = "0644", **extra: Any) -> dict[str, Any]:
    """A files[] entry as Ansible hands it over: every option present, None when not given."""
    return {"path": str(path) if isinstance(path, Path) else path, "content": content, "mode": mode, **extra}


def plan(files: list[dict[str, Any]], directories: list[dict[str, Any]] | None = None) -> nf.Plan:
    return nf.make_plan(nf.parse_files(files), nf.parse_directories(directories or []))


@pytest.fixture
def strict_umask() -> Iterator[None]:
    previous = os.umask(0o077)
    yield
    os.umask(previous)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (None, "files[0]: path is required"),
        ("", "files[0]: path is required"),
        ("etc/x", "files[0]: path 'etc/x' is not absolute"),
        ("/etc/../x", "files[0]: path '/etc/../x' is not normalized"),
        ("/etc/./x", "files[0]: path '/etc/./x' is not normalized"),
        ("/etc//x", "files[0]: path '/etc//x' is not normalized"),
        ("/etc/x/", "files[0]: path '/etc/x/' is not normalized"),
        ("//etc/x", "files[0]: path '//etc/x' is not normalized"),
    ],
)
def test_paths_must_be_absolute_and_normalized(path: Any, message: str) -> None:
    with pytest.raises(nf.NodeFilesError) as raised:
        nf.parse_files([entry(path)])
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, 'files[0] (/x): mode is required, an octal string such as "0644"'),
        (420, "got 420 (quote it: unquoted YAML 0600 is the integer 384)"),
        ("644x", "got '644x'"),
        ("0800", "got '0800'"),
        ("06", "got '06'"),
        ("00644", "got '00644'"),
    ],
)
def test_modes_are_octal_strings(value: Any, message: str) -> None:
    with pytest.raises(nf.NodeFilesError) as raised:
        nf.parse_files([entry("/x", mode=value)])
    assert message in str(raised.value)


def test_parsing_keeps_order_and_modes() -> None:
    files = nf.parse_files([entry("/b", mode="0600"), entry("/a", mode="4755", owner="root", group="0")])
    assert [(item.path, item.mode, item.owner, item.group) for item in files] == [
        ("/b", 0o600, None, None),
        ("/a", 0o4755, "root", "0"),
    ]
    assert nf.parse_directories([{"path": "/d", "mode": "0750"}]) == [nf.WantedDirectory("/d", 0o750)]


def test_content_must_be_text_and_never_shows_in_repr() -> None:
    with pytest.raises(nf.NodeFilesError, match=r"files\[0\] \(/x\): content must be a string"):
        nf.parse_files([entry("/x", content=b"bytes")])
    (wanted,) = nf.parse_files([entry("/x", content=SECRET)])
    assert SECRET not in repr(wanted)
    assert SECRET not in repr(nf.make_plan([wanted], []))


@pytest.mark.parametrize(
    ("files", "directories", "message"),
    [
        ([entry("/a"), entry("/a")], [], "files[1] (/a): duplicate path, also files[0]"),
        ([entry("/a")], [{"path": "/a", "mode": "0755"}], "directories[0] (/a): duplicate path, also files[0]"),
        ([entry("/a"), entry("/a/b/c")], [], "files[1] (/a/b/c): its parent /a is a file, files[0], not a directory"),
        ([entry("/a")], [{"path": "/a/b", "mode": "0755"}], "directories[0] (/a/b): its parent /a is a file"),
    ],
)
def test_layout_conflicts(files: list[dict[str, Any]], directories: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(nf.NodeFilesError) as raised:
        nf.check_layout(nf.parse_files(files), nf.parse_directories(directories))
    assert str(raised.value).startswith(message)


def test_missing_parents_are_created_outermost_first_with_listed_or_default_modes(
    tmp_path: Path, strict_umask: None
) -> None:
    root = tmp_path / "root"
    result = plan(
        [entry(root / "etc" / "kubelet" / "pki" / "key", mode="0600"), entry(root / "opt" / "bin" / "tool")],
        [{"path": str(root / "etc" / "kubelet" / "pki"), "mode": "0700"}],
    )
    expected = [root, root / "etc", root / "etc" / "kubelet", root / "etc" / "kubelet" / "pki"]
    expected += [root / "opt", root / "opt" / "bin"]
    assert result.directories_created == [str(path) for path in expected]
    assert result.changed
    assert not root.exists()  # planning writes nothing

    nf.apply(result)
    assert mode(root / "etc" / "kubelet") == 0o755
    assert mode(root / "etc" / "kubelet" / "pki") == 0o700
    assert mode(root / "etc" / "kubelet" / "pki" / "key") == 0o600
    assert mode(root / "opt" / "bin" / "tool") == 0o644
    again = plan(
        [entry(root / "etc" / "kubelet" / "pki" / "key", mode="0600"), entry(root / "opt" / "bin" / "tool")],
        [{"path": str(root / "etc" / "kubelet" / "pki"), "mode": "0700"}],
    )
    assert not again.changed
    assert again.changed_files == again.directories_created == []


def test_only_what_differs_changes_and_a_mode_fix_keeps_the_inode(tmp_path: Path) -> None:
    same, content, only_mode = tmp_path / "same", tmp_path / "content", tmp_path / "mode"
    for path in (same, content, only_mode):
        path.write_text("old")
        path.chmod(0o644)
    inodes = {path: os.lstat(path).st_ino for path in (same, content, only_mode)}
    result = plan([entry(same, "old"), entry(content, "new"), entry(only_mode, "old", mode="0600")])
    assert result.changed_files == [str(content), str(only_mode)]
    assert [item["changed"] for item in result.summary()] == [False, True, True]
    assert result.summary()[1] == {
        "path": str(content),
        "mode": "0644",
        "sha256": hashlib.sha256(b"new").hexdigest(),
        "changed": True,
    }

    nf.apply(result)
    assert content.read_text() == "new"
    assert mode(only_mode) == 0o600
    assert os.lstat(same).st_ino == inodes[same]
    assert os.lstat(only_mode).st_ino == inodes[only_mode]
    assert os.lstat(content).st_ino != inodes[content]


def test_a_listed_directory_gets_its_mode(tmp_path: Path) -> None:
    directory = tmp_path / "pki"
    directory.mkdir(mode=0o755)
    result = plan([], [{"path": str(directory), "mode": "0700"}])
    assert result.changed
    assert result.directories_created == []
    nf.apply(result)
    assert mode(directory) == 0o700


def test_symlinks_are_refused_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.mkdir()
    (target / "file").write_text("untouched")
    (tmp_path / "file-link").symlink_to(target / "file")
    (tmp_path / "directory-link").symlink_to(target)
    with pytest.raises(nf.NodeFilesError, match="is a symlink; node_files neither follows nor replaces symlinks"):
        plan([entry(tmp_path / "file-link")])
    with pytest.raises(nf.NodeFilesError, match=r"directories\[0\] \(.*/directory-link\): is a symlink"):
        plan([], [{"path": str(tmp_path / "directory-link"), "mode": "0700"}])
    assert (target / "file").read_text() == "untouched"


def test_symlinked_parents_are_followed(tmp_path: Path) -> None:
    (tmp_path / "usr-lib").mkdir()
    (tmp_path / "lib").symlink_to(tmp_path / "usr-lib")
    result = plan([entry(tmp_path / "lib" / "unit.service", "[Unit]\n")])
    assert result.directories_created == []
    nf.apply(result)
    assert (tmp_path / "usr-lib" / "unit.service").read_text() == "[Unit]\n"


def test_obstacles_on_disk(tmp_path: Path) -> None:
    (tmp_path / "directory").mkdir()
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "file").write_text("x")
    with pytest.raises(nf.NodeFilesError, match=r"files\[0\] \(.*/directory\): is a directory$"):
        plan([entry(tmp_path / "directory")])
    with pytest.raises(nf.NodeFilesError, match=r"files\[0\] \(.*/fifo\): is not a regular file$"):
        plan([entry(tmp_path / "fifo")])
    with pytest.raises(nf.NodeFilesError, match=r"files\[0\] \(.*/file/a/b\): .*/file exists and is not a directory$"):
        plan([entry(tmp_path / "file" / "a" / "b")])
    with pytest.raises(nf.NodeFilesError, match=r"directories\[0\] \(.*/file\): exists and is not a directory$"):
        plan([], [{"path": str(tmp_path / "file"), "mode": "0755"}])


def test_an_unwritable_directory_is_found_while_planning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "access", lambda path, _: path != str(tmp_path))
    with pytest.raises(nf.NodeFilesError) as raised:
        plan([entry(tmp_path / "new" / "x")])
    assert (
        str(raised.value) == f"cannot write {tmp_path}/new: directory {tmp_path} is not writable (uid {os.geteuid()})"
    )
    with pytest.raises(nf.NodeFilesError, match=r"cannot write .*/x: directory .* is not writable"):
        plan([entry(tmp_path / "x")])
    (tmp_path / "same").write_text("x")
    (tmp_path / "same").chmod(0o644)
    assert not plan([entry(tmp_path / "same")]).changed  # nothing to write there, nothing to check


def test_unknown_owner_and_group_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(nf.NodeFilesError, match=r"files\[0\] \(.*\): unknown owner 'no-such-user-4711'"):
        plan([entry(tmp_path / "x", owner="no-such-user-4711")])
    with pytest.raises(nf.NodeFilesError, match="unknown group 'no-such-group-4711'"):
        plan([entry(tmp_path / "x", group="no-such-group-4711")])


@as_root
def test_owner_and_group_by_name_or_id(tmp_path: Path) -> None:
    path = tmp_path / "setuid-tool"
    path.write_text("x")
    path.chmod(0o4755)
    result = plan([entry(path, mode="4755", owner=str(NOBODY), group=str(NOBODY))])
    assert result.changed_files == [str(path)]
    inode = os.lstat(path).st_ino
    nf.apply(result)
    status = os.lstat(path)
    assert (status.st_uid, status.st_gid, status.st_ino) == (NOBODY, NOBODY, inode)
    assert mode(path) == 0o4755  # chown cleared the setuid bit; it is set again
    assert not plan([entry(path, mode="4755", owner=pwd.getpwuid(NOBODY).pw_name, group=str(NOBODY))]).changed


@as_root
def test_a_replaced_file_keeps_its_owner_unless_another_is_wanted(tmp_path: Path) -> None:
    kept, changed = tmp_path / "kept", tmp_path / "changed"
    for path in (kept, changed):
        path.write_text("old")
        os.chown(path, NOBODY, NOBODY)
    nf.apply(plan([entry(kept, "new"), entry(changed, "new", owner="0", group="0")]))
    assert (os.lstat(kept).st_uid, os.lstat(kept).st_gid) == (NOBODY, NOBODY)
    assert (os.lstat(changed).st_uid, os.lstat(changed).st_gid) == (0, 0)
    assert kept.read_text() == changed.read_text() == "new"


def test_describe_lists_digests_sorted_by_path(tmp_path: Path) -> None:
    (tmp_path / "b").write_text("old")
    (tmp_path / "b").chmod(0o640)
    owner = pwd.getpwuid(os.geteuid()).pw_name
    result = plan(
        [entry(tmp_path / "b", SECRET, mode="0600", owner=owner), entry(tmp_path / "a" / "c", "line 1\nline 2\n")]
    )
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    old_digest = hashlib.sha256(b"old").hexdigest()
    header = "# <path> <mode> <sha256> [owner=] [group=] per file, <path>/ <mode> per directory\n"
    assert nf.describe_before(result, with_content=False) == (
        f"{header}{tmp_path}/a/ absent\n{tmp_path}/a/c absent\n{tmp_path}/b 0640 {old_digest} owner={owner}\n"
    )
    c_digest = hashlib.sha256(b"line 1\nline 2\n").hexdigest()
    assert nf.describe_after(result, with_content=False) == (
        f"{header}{tmp_path}/a/ 0755\n{tmp_path}/a/c 0644 {c_digest}\n{tmp_path}/b 0600 {digest} owner={owner}\n"
    )
    assert SECRET not in nf.describe_after(result, with_content=False)
    with_content = nf.describe_after(result, with_content=True)
    assert f"{tmp_path}/a/c 0644 {c_digest}\n    line 1\n    line 2\n" in with_content
    assert f"{tmp_path}/b 0600 {digest} owner={owner}\n    {SECRET}\n" in with_content
    assert f"{tmp_path}/b 0640 {old_digest} owner={owner}\n    old\n" in nf.describe_before(result, with_content=True)
