# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Checks that a machine can become a node, each returning problems a user can act on."""

from __future__ import annotations

import importlib.util
import os
import shutil
from typing import Iterable

_LISTEN = "0A"


def listening_ports(proc_net: Iterable[str] = ("/proc/net/tcp", "/proc/net/tcp6")) -> set[int]:
    """TCP ports with a listening socket, read from /proc (no socket is opened, nothing is disturbed)."""
    ports: set[int] = set()
    for path in proc_net:
        try:
            with open(path, encoding="ascii") as stream:
                lines = stream.readlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def port_problems(wanted: Iterable[int], listening: set[int]) -> list[str]:
    busy = sorted(set(wanted) & listening)
    return [
        f"port {port} is already in use; stop what listens on it (see `ss -ltnp 'sport = :{port}'`)" for port in busy
    ]


def command_problems(commands: Iterable[str], which=shutil.which) -> list[str]:
    return [
        f"command {name} is missing; install it (the machine needs it before it can join)"
        for name in commands
        if which(name) is None
    ]


def python_module_problems(modules: Iterable[str]) -> list[str]:
    return [
        f"the Python module {name} is missing for /usr/bin/python3; install it (Debian: python3-{name})"
        for name in modules
        if importlib.util.find_spec(name) is None
    ]


def disk_problems(minimum_free: dict[str, int], statvfs=os.statvfs) -> list[str]:
    problems = []
    for path, wanted in sorted(minimum_free.items()):
        existing = path
        while not os.path.exists(existing):
            existing = os.path.dirname(existing) or "/"
        stats = statvfs(existing)
        free = stats.f_bavail * stats.f_frsize
        if free < wanted:
            problems.append(f"{path} has {free // 2**20} MiB free, needs {wanted // 2**20} MiB; free some space")
    return problems


def clock_problems(machine_time: float, controller_time: float, max_skew: float) -> list[str]:
    skew = machine_time - controller_time
    if abs(skew) > max_skew:
        return [
            f"the clock is {skew:+.0f} s off the controller's (at most {max_skew:.0f} s): certificates would not be "
            "valid yet or already expired; synchronise time (systemd-timesyncd or chrony)"
        ]
    return []


def systemd_problems(run_dir: str = "/run/systemd/system") -> list[str]:
    return [] if os.path.isdir(run_dir) else ["systemd is not the init system; the machine must run systemd"]
