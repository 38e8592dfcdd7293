# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""What the modules change on a machine's disk (target side).

- ``files``: atomic, mode-exact writes (temp file in the same directory, fsync, chmod/chown,
  rename), directories with exact modes, removal of files and trees without following symlinks.
- ``static_pod``: static pod manifests as gardenadm renders them (``render``, ``checksum``,
  ``dump``, ``same_manifest``), their volume files, and ``plan_present``/``plan_absent`` ->
  ``Plan`` -> ``apply`` with ``describe_on_disk``/``describe_desired`` for diffs; ``StaticPodError``
  messages never contain file content.
- ``http_wait``: ``wait_for_ok(url, timeout, ssl_context(...))`` for health endpoints.
- ``preflight``: checks that a machine can become a node.

Python 3.8+, standard library plus PyYAML; never imports Ansible.
"""

from __future__ import annotations
