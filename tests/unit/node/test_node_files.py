"""Atomic, mode-exact file operations (plugins/module_utils/_node/files.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ansible_collections.gardener.autonomous.plugins.module_utils._node import files as fs


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def strict_umask():
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_write_atomic_sets_content_and_mode_regardless_of_umask(tmp_path: Path, strict_umask) -> None:
    target = tmp_path / "ca.crt"
    fs.write_atomic(str(target), b"certificate", 0o644)
    assert target.read_bytes() == b"certificate"
    assert mode(target) == 0o644


def test_write_atomic_replaces_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    target = tmp_path / "tls.key"
    target.write_bytes(b"old")
    target.chmod(0o644)
    fs.write_atomic(str(target), b"new", 0o600)
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["tls.key"]


def test_write_atomic_replaces_a_symlink_instead_of_writing_through_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"untouched")
    link = tmp_path / "link"
    link.symlink_to(elsewhere)
    fs.write_atomic(str(link), b"written", 0o640)
    assert not link.is_symlink()
    assert link.read_bytes() == b"written"
    assert elsewhere.read_bytes() == b"untouched"


def test_write_atomic_failure_keeps_the_old_file_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "config"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        fs.write_atomic(str(target), "not bytes", 0o640)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["config"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_write_atomic_sets_owner_and_group(tmp_path: Path) -> None:
    target = tmp_path / "owned"
    fs.write_atomic(str(target), b"x", 0o640, owner=1, group=2)
    status = os.lstat(target)
    assert (status.st_uid, status.st_gid) == (1, 2)


def test_read_bytes_only_reads_regular_files(tmp_path: Path) -> None:
    regular = tmp_path / "regular"
    regular.write_bytes(b"data")
    (tmp_path / "link").symlink_to(regular)
    (tmp_path / "directory").mkdir()
    assert fs.read_bytes(str(regular)) == b"data"
    assert fs.read_bytes(str(tmp_path / "link")) is None
    assert fs.read_bytes(str(tmp_path / "directory")) is None
    assert fs.read_bytes(str(tmp_path / "missing")) is None
    assert fs.read_bytes(str(regular / "below-a-file")) is None


def test_matches_compares_content_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "file"
    fs.write_atomic(str(target), b"content", 0o640)
    assert fs.matches(str(target), b"content", 0o640)
    assert not fs.matches(str(target), b"content", 0o600)
    assert not fs.matches(str(target), b"other", 0o640)
    assert not fs.matches(str(tmp_path / "missing"), b"content", 0o640)


def test_make_directories_creates_missing_parents_with_mode(tmp_path: Path, strict_umask) -> None:
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    created = fs.make_directories(str(existing / "a" / "b"), 0o750)
    assert created == [str(existing / "a"), str(existing / "a" / "b")]
    assert mode(existing / "a") == 0o750
    assert mode(existing / "a" / "b") == 0o750
    assert mode(existing) == 0o755
    assert fs.make_directories(str(existing / "a" / "b"), 0o700) == []
    assert mode(existing / "a" / "b") == 0o750


def test_ensure_directory_fixes_mode_and_replaces_non_directories(tmp_path: Path) -> None:
    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    fs.ensure_directory(str(loose), 0o750)
    assert mode(loose) == 0o750

    occupied = tmp_path / "occupied"
    occupied.write_bytes(b"a file where a directory belongs")
    fs.ensure_directory(str(occupied), 0o750)
    assert occupied.is_dir()

    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    fs.ensure_directory(str(link), 0o750)
    assert link.is_dir()
    assert not link.is_symlink()


def test_remove_files_trees_and_symlinks_without_following_them(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "file").write_bytes(b"x")
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "file").write_bytes(b"x")
    link = tmp_path / "link"
    link.symlink_to(kept)

    assert fs.remove(str(tree)) is True
    assert fs.remove(str(link)) is True
    assert fs.remove(str(tmp_path / "missing")) is False
    assert not tree.exists()
    assert not link.is_symlink()
    assert (kept / "file").exists()


def test_list_directory_is_sorted_and_empty_for_non_directories(tmp_path: Path) -> None:
    for name in ("b", "a", "c"):
        (tmp_path / name).write_bytes(b"")
    assert fs.list_directory(str(tmp_path)) == ["a", "b", "c"]
    assert fs.list_directory(str(tmp_path / "a")) == []
    assert fs.list_directory(str(tmp_path / "missing")) == []
