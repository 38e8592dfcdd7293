# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Many files on a machine in one pass: plan what differs from the disk, then write only that.

`parse_files`/`parse_directories` check the input, `make_plan` compares it with the disk and finds
every obstacle (a symlink, a directory or a special file where a file goes, a parent that is not a
directory, an unwritable directory) before `apply` writes anything. Directories come first,
outermost first; then each changed file is replaced atomically (`files.write_atomic`), or only
chmod-ed/chown-ed when its content is already right.

The target path of a file or listed directory is never followed when it is a symlink: planning
refuses it. Symlinks among the parents are followed (`/lib` -> `usr/lib`).

`NodeFilesError` messages name the entry and path, never file content.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.gardener.autonomous.plugins.module_utils._node import files as fs

PARENT_MODE = 0o755  # directories created for a file that are not listed themselves
_OCTAL_MODE = re.compile(r"^[0-7]{3,4}$")
_DIFF_HEADER = "# <path> <mode> <sha256> [owner=] [group=] per file, <path>/ <mode> per directory\n"


class NodeFilesError(ValueError):
    """Invalid input or an obstacle on disk; the message names the entry and its path, never content."""


@dataclass(frozen=True)
class WantedFile:
    path: str
    content: str = field(repr=False)  # may be a secret
    mode: int
    owner: str | None = None
    group: str | None = None

    @property
    def data(self) -> bytes:
        return self.content.encode("utf-8")


@dataclass(frozen=True)
class WantedDirectory:
    path: str
    mode: int


def parse_files(entries: Sequence[Mapping[str, Any]]) -> list[WantedFile]:
    """`[{path, content, mode, owner?, group?}]` -> `WantedFile`s, in the given order."""
    wanted = []
    for index, entry in enumerate(entries):
        path = _check_path(entry.get("path"), f"files[{index}]")
        where = f"files[{index}] ({path})"
        content = entry.get("content")
        if not isinstance(content, str):
            raise NodeFilesError(f"{where}: content must be a string")
        mode = parse_mode(entry.get("mode"), where)
        wanted.append(WantedFile(path, content, mode, entry.get("owner"), entry.get("group")))
    return wanted


def parse_directories(entries: Sequence[Mapping[str, Any]]) -> list[WantedDirectory]:
    """`[{path, mode}]` -> `WantedDirectory`s, in the given order."""
    wanted = []
    for index, entry in enumerate(entries):
        path = _check_path(entry.get("path"), f"directories[{index}]")
        wanted.append(WantedDirectory(path, parse_mode(entry.get("mode"), f"directories[{index}] ({path})")))
    return wanted


def parse_mode(value: Any, where: str) -> int:
    """Octal strings only: an unquoted YAML 0600 arrives as the integer 384, and 600 as 600."""
    if value is None:
        raise NodeFilesError(f'{where}: mode is required, an octal string such as "0644"')
    if not isinstance(value, str) or not _OCTAL_MODE.match(value):
        hint = " (quote it: unquoted YAML 0600 is the integer 384)" if isinstance(value, int) else ""
        raise NodeFilesError(f'{where}: mode must be an octal string such as "0600", got {value!r}{hint}')
    return int(value, 8)


def _check_path(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise NodeFilesError(f"{where}: path is required")
    if not os.path.isabs(value):
        raise NodeFilesError(f"{where}: path {value!r} is not absolute")
    if os.path.normpath(value) != value or value.startswith("//") or "\0" in value:
        raise NodeFilesError(f"{where}: path {value!r} is not normalized (no '.', '..', '//' or trailing '/')")
    return value


def check_layout(files: Sequence[WantedFile], directories: Sequence[WantedDirectory]) -> None:
    """Every path once; no file where another entry needs a directory."""
    entries = [(f"files[{index}]", item.path) for index, item in enumerate(files)]
    entries += [(f"directories[{index}]", item.path) for index, item in enumerate(directories)]
    seen: dict[str, str] = {}
    for where, path in entries:
        if path in seen:
            raise NodeFilesError(f"{where} ({path}): duplicate path, also {seen[path]}")
        seen[path] = where
    file_entries = {path: where for where, path in entries if where.startswith("files")}
    for where, path in entries:
        for parent in _parents(path):
            if parent in file_entries:
                raise NodeFilesError(
                    f"{where} ({path}): its parent {parent} is a file, {file_entries[parent]}, not a directory"
                )


def _parents(path: str) -> Iterator[str]:
    parent = os.path.dirname(path)
    while parent != path:
        yield parent
        path, parent = parent, os.path.dirname(parent)


@dataclass(frozen=True)
class OnDisk:
    """A regular file as planning found it."""

    content: bytes = field(repr=False)
    mode: int
    uid: int
    gid: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class FileState:
    wanted: WantedFile
    on_disk: OnDisk | None  # None: no file there yet
    uid: int | None  # resolved wanted.owner
    gid: int | None  # resolved wanted.group

    @property
    def path(self) -> str:
        return self.wanted.path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.wanted.data).hexdigest()

    @property
    def write(self) -> bool:
        return self.on_disk is None or self.on_disk.content != self.wanted.data

    @property
    def fix_mode(self) -> bool:
        return self.on_disk is not None and self.on_disk.mode != self.wanted.mode

    @property
    def fix_owner(self) -> bool:
        return self.on_disk is not None and (
            (self.uid is not None and self.on_disk.uid != self.uid)
            or (self.gid is not None and self.on_disk.gid != self.gid)
        )

    @property
    def changed(self) -> bool:
        return self.write or self.fix_mode or self.fix_owner


@dataclass(frozen=True)
class DirectoryState:
    path: str
    mode: int
    current_mode: int | None  # None: to be created

    @property
    def changed(self) -> bool:
        return self.current_mode != self.mode


@dataclass(frozen=True)
class Plan:
    """What reconciling the files changes on disk; computed without touching anything."""

    files: list[FileState]
    directories: list[DirectoryState]  # listed ones and missing parents, outermost first

    @property
    def changed(self) -> bool:
        return any(item.changed for item in self.files) or any(item.changed for item in self.directories)

    @property
    def changed_files(self) -> list[str]:
        return [item.path for item in self.files if item.changed]

    @property
    def directories_created(self) -> list[str]:
        return [item.path for item in self.directories if item.current_mode is None]

    def summary(self) -> list[dict[str, Any]]:
        """Per file: path, mode, sha256 of the wanted content and whether it changes."""
        return [
            {"path": item.path, "mode": f"{item.wanted.mode:04o}", "sha256": item.sha256, "changed": item.changed}
            for item in self.files
        ]


def make_plan(files: Sequence[WantedFile], directories: Sequence[WantedDirectory]) -> Plan:
    check_layout(files, directories)
    listed = {item.path: item.mode for item in directories}
    states: dict[str, DirectoryState] = {}
    for index, directory in enumerate(directories):
        where = f"directories[{index}] ({directory.path})"
        status = fs.lstat(directory.path)
        if status is None:
            _plan_missing(directory.path, listed, states, where)
        elif stat.S_ISLNK(status.st_mode):
            raise NodeFilesError(f"{where}: is a symlink; node_files neither follows nor replaces symlinks")
        elif not stat.S_ISDIR(status.st_mode):
            raise NodeFilesError(f"{where}: exists and is not a directory")
        else:
            states[directory.path] = DirectoryState(directory.path, directory.mode, stat.S_IMODE(status.st_mode))
    file_states = []
    for index, wanted in enumerate(files):
        where = f"files[{index}] ({wanted.path})"
        on_disk = _read_regular_file(wanted.path, where)
        if on_disk is None:
            _plan_missing(os.path.dirname(wanted.path), listed, states, where)
        uid = None if wanted.owner is None else _user_id(wanted.owner, where)
        gid = None if wanted.group is None else _group_id(wanted.group, where)
        file_states.append(FileState(wanted, on_disk, uid, gid))
    plan = Plan(file_states, sorted(states.values(), key=lambda item: item.path))
    _check_writable(plan)
    return plan


def _read_regular_file(path: str, where: str) -> OnDisk | None:
    status = fs.lstat(path)
    if status is None:
        return None
    if stat.S_ISLNK(status.st_mode):
        raise NodeFilesError(f"{where}: is a symlink; node_files neither follows nor replaces symlinks")
    if stat.S_ISDIR(status.st_mode):
        raise NodeFilesError(f"{where}: is a directory")
    if not stat.S_ISREG(status.st_mode):
        raise NodeFilesError(f"{where}: is not a regular file")
    with open(path, "rb") as handle:
        content = handle.read()
    return OnDisk(content, stat.S_IMODE(status.st_mode), status.st_uid, status.st_gid)


def _plan_missing(path: str, listed: Mapping[str, int], states: dict[str, DirectoryState], where: str) -> None:
    """Plans `path` and its missing parents as new directories (listed mode, else PARENT_MODE)."""
    current = path
    while not os.path.lexists(current):
        if current not in states:
            states[current] = DirectoryState(current, listed.get(current, PARENT_MODE), None)
        current = os.path.dirname(current)
    if not os.path.isdir(current):
        raise NodeFilesError(f"{where}: {current} exists and is not a directory")


def _check_writable(plan: Plan) -> None:
    """Every existing directory that gets a new entry must be writable (and searchable)."""
    created = set(plan.directories_created)
    targets = [item.path for item in plan.directories if item.current_mode is None]
    targets += [item.path for item in plan.files if item.write]
    for target in targets:
        parent = os.path.dirname(target)
        if parent not in created and not os.access(parent, os.W_OK | os.X_OK):
            raise NodeFilesError(f"cannot write {target}: directory {parent} is not writable (uid {os.geteuid()})")


def _user_id(name: str, where: str) -> int:
    if name.isdigit():
        return int(name)
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise NodeFilesError(f"{where}: unknown owner {name!r}") from None


def _group_id(name: str, where: str) -> int:
    if name.isdigit():
        return int(name)
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise NodeFilesError(f"{where}: unknown group {name!r}") from None


def apply(plan: Plan) -> None:
    """Carries out `plan`: directories outermost first, then the files in their given order."""
    for directory in plan.directories:
        if directory.current_mode is None:
            fs.make_directories(directory.path, directory.mode)
        elif directory.changed:
            fs.set_mode(directory.path, directory.mode)
    for item in plan.files:
        if item.write:
            # A replaced file keeps its owner and group unless others are wanted.
            uid = item.uid if item.uid is not None or item.on_disk is None else item.on_disk.uid
            gid = item.gid if item.gid is not None or item.on_disk is None else item.on_disk.gid
            fs.write_atomic(item.path, item.wanted.data, item.wanted.mode, uid, gid)
            continue
        if item.fix_owner:
            os.lchown(item.path, -1 if item.uid is None else item.uid, -1 if item.gid is None else item.gid)
        if item.fix_owner or item.fix_mode:  # chown clears setuid/setgid bits
            fs.set_mode(item.path, item.wanted.mode)


def describe_before(plan: Plan, with_content: bool) -> str:
    """The diff's `before`: what planning found, one line per file and directory, sorted by path."""
    entries = [(item.path, f"{item.path}/ {_mode_or_absent(item.current_mode)}") for item in plan.directories]
    for item in plan.files:
        found = item.on_disk
        if found is None:
            entries.append((item.path, f"{item.path} absent"))
            continue
        line = _file_line(item, found.mode, found.sha256, found.uid, found.gid)
        entries.append((item.path, line + (_indented(found.content) if with_content else "")))
    return _document(entries)


def describe_after(plan: Plan, with_content: bool) -> str:
    """The diff's `after`: the wanted state, in the same form as `describe_before`."""
    entries = [(item.path, f"{item.path}/ {item.mode:04o}") for item in plan.directories]
    for item in plan.files:
        line = _file_line(item, item.wanted.mode, item.sha256, item.uid, item.gid)
        entries.append((item.path, line + (_indented(item.wanted.data) if with_content else "")))
    return _document(entries)


def _mode_or_absent(mode: int | None) -> str:
    return "absent" if mode is None else f"{mode:04o}"


def _file_line(item: FileState, mode: int, sha256: str, uid: int | None, gid: int | None) -> str:
    """Owner and group appear only when wanted, as names where the machine knows them."""
    line = f"{item.path} {mode:04o} {sha256}"
    if item.wanted.owner is not None and uid is not None:
        line += f" owner={_user_name(uid)}"
    if item.wanted.group is not None and gid is not None:
        line += f" group={_group_name(gid)}"
    return line


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _indented(content: bytes) -> str:
    return "".join(f"\n    {line}" for line in content.decode("utf-8", errors="replace").splitlines())


def _document(entries: list[tuple[str, str]]) -> str:
    return _DIFF_HEADER + "".join(f"{text}\n" for _path, text in sorted(entries))
