# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Kubernetes API access on the standard library (plus PyYAML to read kubeconfig files).

- ``client.KubeClient``: REST client (kubeconfig path or dict, or ``kubeconfig.ClientConfig``);
  get, list, create, server-side apply, merge patch, delete, watch; discovery cached per client.
- ``waiter.Waiter``: waits for one object to satisfy a ``predicates`` predicate, watch driven.
- ``errors``: ``ApiError``, ``ApiUnreachable``, ``KubeconfigError``, ``KindNotServed``; their
  messages can be shown as they are and never contain secrets.
- ``timestamps``: RFC 3339 times as the API writes them.
- ``pod_schema``: offline validation of Pod manifests per Kubernetes minor.

Never imports Ansible; runs on target machines (Python 3.8+).
"""

from __future__ import annotations
