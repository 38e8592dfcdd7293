# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""Options and behaviour shared by the extension object modules; their argument spec is
EXTENSION_ARG_SPEC in plugins/module_utils/_gardener/extension_args.py: change both together."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  namespace:
    description:
      - Namespace of the object, in a bootstrap cluster the shoot's technical ID (C(shoot--<project>--<name>)).
    type: str
    required: true
  name:
    description:
      - Name of the object.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the object with server-side apply and, when O(wait) is true, waits
        until its extension has reconciled it. Only a new object, a changed O(spec) or O(force_reconcile)
        gets the annotations C(gardener.cloud/operation=reconcile) and C(gardener.cloud/timestamp) (now,
        RFC 3339 with nanoseconds) that ask the extension to reconcile; a change of O(labels) or
        O(annotations) alone does not.
      - V(absent) annotates C(confirmation.gardener.cloud/deletion=true) (gardener's deletion protection
        asks for it) and deletes the object; with O(wait) it waits until the extension has removed its
        finalizer and the object is gone. An object that does not exist is no change.
      - V(migrated) annotates C(gardener.cloud/operation=migrate) and a timestamp, unless the object's
        C(status.lastOperation) already is C(Migrate)/C(Succeeded) or a migration is pending, and with
        O(wait) waits until the migration has succeeded, as C(gardenadm bootstrap) does before it hands
        over to the new cluster. The object is not deleted. An object that does not exist is no change.
      - The extension no longer reconciles a migrated object, so V(present) with a changed O(spec) or
        O(force_reconcile) fails at once with a message that says so (C(gardenadm bootstrap) skips those
        kinds on a rerun).
    type: str
    choices: [present, absent, migrated]
    default: present
  spec:
    description:
      - The object's C(spec), checked by the API server against Gardener's CRD schema; a field the schema
        does not declare fails the task with a message naming the field.
      - Fields left out are removed from the object if this module applied them before.
      - Required when O(state=present).
    type: dict
  labels:
    description:
      - Labels of the object (string values). Labels this module set before and that are left out are removed.
    type: dict
    default: {}
  annotations:
    description:
      - Further annotations of the object (string values). C(gardener.cloud/operation) and
        C(gardener.cloud/timestamp) are not allowed, the module sets them.
    type: dict
    default: {}
  force_reconcile:
    description:
      - With O(state=present), ask the extension to reconcile even when nothing changed (a new
        C(gardener.cloud/operation=reconcile) and timestamp), for example after fixing the cause of an error.
    type: bool
    default: false
  wait:
    description:
      - Wait until the object is ready (O(state=present)), gone (O(state=absent)) or migrated (O(state=migrated)).
      - Ready means Gardener's rule (C(checkExtensionObject)) - C(status.observedGeneration) equals
        C(metadata.generation), no C(gardener.cloud/operation) annotation is left, C(status.lastOperation.state)
        is C(Succeeded) and its C(lastUpdateTime) is not older than the C(gardener.cloud/timestamp) annotation
        (both to the second).
      - A C(status.lastError) the extension writes after the request fails the task at once, with its
        description and error codes. An error from before the request (the previous attempt) does not.
      - The module watches the object, so it notices a change within a fraction of a second. When
        O(wait_timeout) passes, the task fails saying why the object is not ready yet.
      - Never waits in check mode.
    type: bool
    default: true
  field_manager:
    description:
      - Field manager of the server-side apply. The module takes over fields another manager set to other
        values (C(force)), as gardenlet does with the extension objects it deploys.
    type: str
    default: gardener.autonomous
attributes:
  check_mode:
    support: full
    details:
      - Server-side dry run of every write, so the API server validates the object and the result shows the
        object as it would be. Never waits.
  diff_mode:
    support: full
    details:
      - C(before) and C(after) hold the object's C(metadata) (without server-written fields) and C(spec).
  idempotent:
    support: full
    details:
      - A rerun against an unchanged object changes nothing, in particular sets no new timestamp, so the
        extension is not asked to reconcile again.
"""
