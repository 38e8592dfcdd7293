# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Ensures a list of Kubernetes objects (present by server-side apply, patched by merge patch, or
absent), the runner behind the ``cluster_objects`` module.

Changes are detected without writing: a server-side dry run of the same request is compared with
the live object, ignoring what the API changes on every write (resourceVersion, generation,
managedFields) and status; only a difference is then written for real. Check mode stops after
the dry run.
"""

from __future__ import annotations

import base64
import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient, KubeObject
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import (
    ApiError,
    KindNotServed,
    KubeError,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.predicates import absent, exists, ready_predicate
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.waiter import Waiter

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"
PATCHED = "patched"
DELETED = "deleted"
ABSENT = "absent"
CHANGING_ACTIONS = frozenset({CREATED, UPDATED, PATCHED, DELETED})

HIDDEN = "<hidden>"
CRD_API_VERSION = "apiextensions.k8s.io/v1"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Kept by the API, never by a definition: they differ whenever anything was written in between.
_VOLATILE_METADATA = ("resourceVersion", "generation", "managedFields")
DISCOVERY_PAUSE = 0.1  # between looks for the kind of a CustomResourceDefinition applied just before


@dataclass(frozen=True)
class Options:
    state: str  # present, patched or absent
    field_manager: str
    force_conflicts: bool
    wait: bool
    wait_timeout: float
    check_mode: bool


@dataclass(frozen=True)
class Identity:
    index: int  # position in the definitions list
    api_version: str
    kind: str
    name: str
    namespace: Optional[str]

    def __str__(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"definitions[{self.index}] ({self.kind} {where})"


@dataclass
class Outcome:
    identity: Identity
    action: str
    before: Optional[KubeObject]  # None: it did not exist
    after: Optional[KubeObject]  # None: it does not exist (any more)

    @property
    def changed(self) -> bool:
        return self.action in CHANGING_ACTIONS

    def summary(self) -> Dict[str, Any]:
        return {
            "apiVersion": self.identity.api_version,
            "kind": self.identity.kind,
            "name": self.identity.name,
            "namespace": self.identity.namespace,
            "action": self.action,
        }


@dataclass
class Report:
    outcomes: List[Outcome] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(outcome.changed for outcome in self.outcomes)


class DefinitionError(KubeError):
    """A definition that cannot be sent; the message names its index."""


class EnsureFailed(KubeError):
    """Stopped at an object; ``report`` holds what was done before."""

    def __init__(self, message: str, report: Report) -> None:
        super().__init__(message)
        self.report = report


def check_definitions(definitions: List[Any]) -> None:
    """Checks what needs no API: each item is a mapping with apiVersion, kind and metadata.name."""
    for index, definition in enumerate(definitions):
        if not isinstance(definition, Mapping):
            raise DefinitionError(f"definitions[{index}] is not a mapping")
        metadata = definition.get("metadata")
        missing = [key for key in ("apiVersion", "kind") if not isinstance(definition.get(key), str)]
        if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
            missing.append("metadata.name")
        if missing:
            raise DefinitionError(f"definitions[{index}] needs {', '.join(missing)}")


def ensure_objects(
    client: KubeClient,
    definitions: List[Mapping[str, Any]],
    options: Options,
    clock: Callable[[], float] = time.monotonic,
) -> Report:
    """Ensures each definition in order; waits (when asked) once all are written.

    Raises DefinitionError before anything is written when a definition is malformed or its kind
    or scope is wrong, and EnsureFailed, with what was done so far, at the first object that fails.
    """
    check_definitions(definitions)
    runner = _Runner(client, options, clock)
    targets = runner.resolve(definitions)
    try:
        for target in targets:
            runner.ensure(target)
        if options.wait and not options.check_mode:
            runner.wait_for_all()
    except KubeError as error:
        raise EnsureFailed(str(error), runner.report) from None
    return runner.report


@dataclass(frozen=True)
class _Target:
    identity: Identity
    definition: Mapping[str, Any]
    served: bool  # False: not served yet, but a CustomResourceDefinition earlier in the list declares it


class _Runner:
    def __init__(self, client: KubeClient, options: Options, clock: Callable[[], float]) -> None:
        self._client = client
        self._options = options
        self._clock = clock
        self._deadline = clock() + options.wait_timeout
        self.report = Report()
        self._awaited: List[Outcome] = []
        self._namespaces_to_create: Set[str] = set()  # in check mode: created by this task, before

    def resolve(self, definitions: List[Mapping[str, Any]]) -> List[_Target]:
        """Identity and scope of every definition, checked against discovery before anything is written."""
        declared: Set[Tuple[str, str]] = set()
        targets = []
        for index, definition in enumerate(definitions):
            metadata = definition["metadata"]
            identity = Identity(
                index, definition["apiVersion"], definition["kind"], metadata["name"], metadata.get("namespace") or None
            )
            served = self._served(identity, declared)
            if served:
                self._check_scope(identity)
            targets.append(_Target(identity, definition, served))
            if _is_crd(definition):
                declared.update(_crd_kinds(definition))
        return targets

    def _served(self, identity: Identity, declared: Set[Tuple[str, str]]) -> bool:
        try:
            self._client.resource_for(identity.api_version, identity.kind)
        except KindNotServed as error:
            if (identity.api_version, identity.kind) in declared or self._options.state == "absent":
                return False
            raise DefinitionError(f"definitions[{identity.index}]: {error}") from None
        return True

    def _check_scope(self, identity: Identity) -> None:
        namespaced = self._client.resource_for(identity.api_version, identity.kind).namespaced
        if namespaced and not identity.namespace:
            raise DefinitionError(f"{identity}: {identity.kind} is namespaced, metadata.namespace is required")
        if not namespaced and identity.namespace:
            raise DefinitionError(f"{identity}: {identity.kind} is cluster-scoped, remove metadata.namespace")

    def ensure(self, target: _Target) -> None:
        identity, definition = target.identity, target.definition
        try:
            outcome = self._unchecked(target) if self._cannot_dry_run(target) else self._ensure(target)
        except ApiError as error:
            raise KubeError(f"{identity}: {_explain(error)}") from None
        self.report.outcomes.append(outcome)
        if self._options.check_mode and outcome.action == CREATED and _is_namespace(definition):
            self._namespaces_to_create.add(identity.name)
        if self._options.wait and not self._options.check_mode and self._needs_wait(outcome):
            if _is_crd(definition) and self._options.state != "absent":
                self._wait(outcome)  # now: later definitions may be its objects
            else:
                self._awaited.append(outcome)

    def wait_for_all(self) -> None:
        for outcome in self._awaited:
            self._wait(outcome)

    def _needs_wait(self, outcome: Outcome) -> bool:
        if self._options.state == "absent":
            return outcome.before is not None  # deleted now or before, and maybe not gone yet
        return outcome.action != ABSENT

    def _cannot_dry_run(self, target: _Target) -> bool:
        """In check mode, objects of a kind or in a namespace that only this task creates."""
        if not self._options.check_mode or self._options.state != "present":
            return False
        return not target.served or target.identity.namespace in self._namespaces_to_create

    def _unchecked(self, target: _Target) -> Outcome:
        identity = target.identity
        prerequisite = f"its Namespace {identity.namespace}" if target.served else "its CustomResourceDefinition"
        self.report.warnings.append(
            f"{identity}: not validated by the API in check mode, as {prerequisite} is only created by this task"
        )
        return Outcome(identity, CREATED, None, copy.deepcopy(dict(target.definition)))

    def _ensure(self, target: _Target) -> Outcome:
        identity = target.identity
        if not target.served:
            if self._options.state == "absent" or self._options.check_mode:
                self.report.warnings.append(
                    f"{identity}: {identity.kind} is not served in {identity.api_version}, so no such object exists"
                )
                return Outcome(identity, ABSENT, None, None)
            self._wait_until_served(identity)
            self._check_scope(identity)
        if self._options.state == "present":
            return self._present(identity, target.definition)
        if self._options.state == "patched":
            return self._patched(identity, target.definition)
        return self._absent(identity)

    # States

    def _present(self, identity: Identity, definition: Mapping[str, Any]) -> Outcome:
        live = self._get(identity)
        predicted = self._apply(definition, dry_run=True)
        if live is not None and comparable(predicted) == comparable(live):
            return Outcome(identity, UNCHANGED, live, live)
        after = predicted if self._options.check_mode else self._apply(definition, dry_run=False)
        return Outcome(identity, CREATED if live is None else UPDATED, live, after)

    def _patched(self, identity: Identity, definition: Mapping[str, Any]) -> Outcome:
        live = self._get(identity)
        if live is None and self._options.wait and not self._options.check_mode:
            # Objects that others create, such as a Node its kubelet registers: wait for it first.
            live = self._wait_until_exists(identity)
        if live is None:
            self.report.warnings.append(f"{identity} does not exist; state=patched never creates, so nothing was done")
            return Outcome(identity, ABSENT, None, None)
        predicted = self._merge_patch(identity, definition, dry_run=True)
        if comparable(predicted) == comparable(live):
            return Outcome(identity, UNCHANGED, live, live)
        after = predicted if self._options.check_mode else self._merge_patch(identity, definition, dry_run=False)
        return Outcome(identity, PATCHED, live, after)

    def _absent(self, identity: Identity) -> Outcome:
        live = self._get(identity)
        if live is None or (live.get("metadata") or {}).get("deletionTimestamp"):
            # Gone, or its deletion was requested before: requesting it again would change nothing.
            return Outcome(identity, ABSENT, live, live)
        requested = self._client.delete(
            identity.api_version, identity.kind, identity.name, identity.namespace, dry_run=self._options.check_mode
        )
        return Outcome(identity, DELETED if requested else ABSENT, live, None)

    # API calls

    def _get(self, identity: Identity) -> Optional[KubeObject]:
        return self._client.get(identity.api_version, identity.kind, identity.name, identity.namespace)

    def _apply(self, definition: Mapping[str, Any], *, dry_run: bool) -> KubeObject:
        return self._client.apply(
            definition,
            field_manager=self._options.field_manager,
            force=self._options.force_conflicts,
            dry_run=dry_run,
        )

    def _merge_patch(self, identity: Identity, definition: Mapping[str, Any], *, dry_run: bool) -> KubeObject:
        return self._client.merge_patch(
            identity.api_version, identity.kind, identity.name, definition, identity.namespace, dry_run=dry_run
        )

    def _wait(self, outcome: Outcome) -> None:
        identity = outcome.identity
        gone = self._options.state == "absent"
        predicate = absent if gone else ready_predicate(identity.kind)
        remaining = max(0.0, self._deadline - self._clock())
        try:
            result = Waiter(self._client, predicate, self._clock).wait(
                identity.api_version, identity.kind, identity.name, identity.namespace, timeout=remaining
            )
        except KubeError as error:
            raise KubeError(f"{identity}: {error}") from None
        if not result.ok:
            raise KubeError(f"{identity} will not become ready: {result.reason}")

    def _wait_until_exists(self, identity: Identity) -> KubeObject:
        remaining = max(0.0, self._deadline - self._clock())
        try:
            result = Waiter(self._client, exists, self._clock).wait(
                identity.api_version, identity.kind, identity.name, identity.namespace, timeout=remaining
            )
        except KubeError as error:
            raise KubeError(f"{identity} did not appear: {error}") from None
        return result.object

    def _wait_until_served(self, identity: Identity) -> None:
        """The kind of a CustomResourceDefinition applied just before: Established comes a moment
        before discovery lists it, and without ``wait`` nothing waited for Established."""
        while True:
            try:
                self._client.resource_for(identity.api_version, identity.kind)
                return
            except KindNotServed as error:
                if self._clock() >= self._deadline:
                    raise KubeError(
                        f"{identity}: {error}, although a CustomResourceDefinition before it declares it"
                    ) from None
                time.sleep(DISCOVERY_PAUSE)


def _explain(error: ApiError) -> str:
    text = f"the API refused it ({error.status} {error.reason}): {error.message}"
    if error.status == 409 and "conflict" in error.message.lower():
        text += " (set force_conflicts to take over fields another field manager owns)"
    return text


def _is_crd(definition: Mapping[str, Any]) -> bool:
    return definition.get("kind") == "CustomResourceDefinition" and definition.get("apiVersion") == CRD_API_VERSION


def _is_namespace(definition: Mapping[str, Any]) -> bool:
    return definition.get("kind") == "Namespace" and definition.get("apiVersion") == "v1"


def _crd_kinds(crd: Mapping[str, Any]) -> Set[Tuple[str, str]]:
    """(apiVersion, kind) of every served version a CustomResourceDefinition declares."""
    spec = crd.get("spec") or {}
    kind = (spec.get("names") or {}).get("kind")
    group = spec.get("group")
    if not kind or not group:
        return set()
    return {(f"{group}/{version['name']}", kind) for version in spec.get("versions") or [] if version.get("served")}


def comparable(obj: Mapping[str, Any]) -> Dict[str, Any]:
    """The object without status and without the metadata every write changes."""
    result = {key: value for key, value in obj.items() if key != "status"}
    metadata = obj.get("metadata") or {}
    result["metadata"] = {key: value for key, value in metadata.items() if key not in _VOLATILE_METADATA}
    return result


def visible(obj: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """The object as a diff shows it: without managedFields, a Secret's values hidden; {} when absent."""
    if obj is None:
        return {}
    result = copy.deepcopy(dict(obj))
    metadata = result.get("metadata") or {}
    metadata.pop("managedFields", None)
    if result.get("kind") == "Secret" and result.get("apiVersion") == "v1":
        for key in ("data", "stringData"):
            if isinstance(result.get(key), Mapping):
                result[key] = {name: HIDDEN for name in result[key]}
        annotations = metadata.get("annotations") or {}
        if LAST_APPLIED in annotations:  # kubectl apply keeps the whole Secret there
            annotations[LAST_APPLIED] = HIDDEN
    return result


def diff(outcome: Outcome) -> Dict[str, Any]:
    header = str(outcome.identity)
    return {
        "before": visible(outcome.before),
        "after": visible(outcome.after),
        "before_header": header,
        "after_header": header,
    }


def secret_values(definitions: List[Any]) -> Set[str]:
    """The values of the Secrets among ``definitions``, to be masked in all output: as given, and
    ``stringData`` also base64-encoded, as the API returns it in ``data``."""
    values: Set[str] = set()
    for definition in definitions:
        if not (isinstance(definition, Mapping) and definition.get("kind") == "Secret"):
            continue
        for key in ("data", "stringData"):
            entries = definition.get(key)
            if isinstance(entries, Mapping):
                values.update(value for value in entries.values() if isinstance(value, str) and value)
        string_data = definition.get("stringData")
        if isinstance(string_data, Mapping):
            values.update(
                base64.b64encode(value.encode("utf-8")).decode("ascii")
                for value in string_data.values()
                if isinstance(value, str) and value
            )
    return values
