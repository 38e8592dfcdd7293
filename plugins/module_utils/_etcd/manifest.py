# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""The ``--initial-cluster`` and ``--initial-cluster-state`` flags of an etcd static pod manifest."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.membership import STATES, InitialFlags
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import yaml

# Go's flag package takes -flag=value, --flag=value, -flag value and --flag value.
_FLAG = re.compile(r"^--?(initial-cluster|initial-cluster-state)(?:=(.*))?$", re.DOTALL)


class ManifestError(ValueError):
    """The manifest cannot be read as a Pod, or its flags are invalid."""


def read_initial_flags(path: str) -> InitialFlags | None:
    """The flags of the manifest at `path`; None when there is no such file or it has no --initial-cluster."""
    try:
        with open(path, encoding="utf-8") as stream:
            pod = yaml.safe_load(stream)
    except FileNotFoundError:
        return None
    except yaml.YAMLError as error:
        raise ManifestError(f"{path} is not valid YAML: {error}") from None
    return initial_flags_from_pod(pod, path)


def initial_flags_from_pod(pod: Any, where: str = "manifest") -> InitialFlags | None:
    """The flags of the first container that sets --initial-cluster. Without --initial-cluster-state
    the state is etcd's default, `new`."""
    if not isinstance(pod, Mapping) or not isinstance(pod.get("spec"), Mapping):
        raise ManifestError(f"{where} is not a Pod (no spec)")
    for container in pod["spec"].get("containers") or ():
        if not isinstance(container, Mapping):
            continue
        flags = _flags(list(_words(container.get("command"))) + list(_words(container.get("args"))))
        if "initial-cluster" not in flags:
            continue
        state = flags.get("initial-cluster-state", "new")
        if state not in STATES:
            raise ManifestError(f"{where}: --initial-cluster-state={state!r} is neither 'new' nor 'existing'")
        return InitialFlags(flags["initial-cluster"], state)
    return None


def _words(value: Any) -> Sequence[str]:
    if not isinstance(value, list):
        return ()
    return [str(word) for word in value]


def _flags(words: Sequence[str]) -> dict[str, str]:
    """The values of the two flags; a flag given twice keeps its last value, as with Go's flag package."""
    found: dict[str, str] = {}
    for index, word in enumerate(words):
        match = _FLAG.match(word)
        if not match:
            continue
        if match.group(2) is not None:
            found[match.group(1)] = match.group(2)
        elif index + 1 < len(words):
            found[match.group(1)] = words[index + 1]
    return found
