# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Atomic, mode-exact file operations on the target machine.

Writers never leave a half-written file: content goes to a temporary file in the same directory,
is flushed to disk, gets its mode (and owner) and is then renamed over the target. Modes are set
explicitly, so the umask never applies.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile


def read_bytes(path: str) -> bytes | None:
    """The file's content, or None when there is no regular file at `path`."""
    if not is_regular_file(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


def is_regular_file(path: str) -> bool:
    """A regular file, not a symlink to one."""
    status = lstat(path)
    return status is not None and stat.S_ISREG(status.st_mode)


def is_directory(path: str) -> bool:
    """A real directory, not a symlink to one."""
    status = lstat(path)
    return status is not None and stat.S_ISDIR(status.st_mode)


def mode_of(path: str) -> int | None:
    """The permission bits of whatever is at `path` (symlinks not followed), or None."""
    status = lstat(path)
    return None if status is None else stat.S_IMODE(status.st_mode)


def matches(path: str, content: bytes, mode: int) -> bool:
    """Whether `path` is a regular file with exactly this content and mode."""
    return mode_of(path) == mode and read_bytes(path) == content


def write_atomic(path: str, content: bytes, mode: int, owner: int | None = None, group: int | None = None) -> None:
    """Replaces `path` with a file of `content` and `mode` (and owner/group when given), atomically."""
    directory = os.path.dirname(path) or "."
    descriptor, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=directory)
    try:
        # mkstemp creates 0600, so the content is never readable by others before the chmod.
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
            if owner is not None or group is not None:
                os.fchown(handle.fileno(), -1 if owner is None else owner, -1 if group is None else group)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise
    _fsync_directory(directory)


def set_mode(path: str, mode: int) -> None:
    os.chmod(path, mode)


def make_directories(path: str, mode: int) -> list[str]:
    """Creates `path` and its missing parents with `mode`; existing directories stay as they are.

    Returns the directories created, outermost first.
    """
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        current = os.path.dirname(current)
    for directory in reversed(missing):
        os.mkdir(directory, mode)
        os.chmod(directory, mode)  # mkdir's mode is reduced by the umask
    return list(reversed(missing))


def ensure_directory(path: str, mode: int) -> None:
    """Makes `path` a real directory with `mode`: anything else in its place is removed first."""
    if not is_directory(path):
        remove(path)
        make_directories(path, mode)
    if mode_of(path) != mode:
        set_mode(path, mode)


def list_directory(path: str) -> list[str]:
    """Sorted entry names of a real directory; empty when `path` is not one."""
    return sorted(os.listdir(path)) if is_directory(path) else []


def remove(path: str) -> bool:
    """Removes a file, symlink or directory tree at `path`; returns whether anything was there."""
    if is_directory(path):
        shutil.rmtree(path)
        return True
    if os.path.lexists(path):
        os.unlink(path)
        return True
    return False


def lstat(path: str) -> os.stat_result | None:
    """The path's own status (a symlink is not followed); None when nothing is there."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):  # the latter: a parent is a file
        return None


def _fsync_directory(directory: str) -> None:
    """Persists the rename itself (the directory entry), not only the file's data."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
