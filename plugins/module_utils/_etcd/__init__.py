# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.
"""Membership of the stacked etcd clusters (etcd-main, etcd-events) on control-plane machines.

- ``membership``: the pure decisions. ``plan_membership`` chooses ``--initial-cluster`` and
  ``--initial-cluster-state`` for a member (brand-new cluster, scale-out, restart with data) and
  whether a ``member add`` must come first; ``plan_removal`` picks the member to remove.
- ``client.EtcdClient``: etcd's v3 JSON gateway over https with a client certificate (member list,
  add, remove), asking a list of endpoints in order; ``EtcdError`` says per endpoint what failed.
- ``manifest``: the ``--initial-cluster*`` flags of an existing static pod manifest.

Python 3.8+, standard library plus PyYAML (``manifest`` only); never imports Ansible.
"""

from __future__ import annotations
