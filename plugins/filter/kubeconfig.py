# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
name: kubeconfig
short_description: Render a kubeconfig for one cluster and one user
version_added: 0.1.0
description:
  - Renders a kubeconfig (YAML) with one cluster, one user and one current context, embedding the CA and the
    client certificate and key (or a token) as data, so that the file is complete on its own.
  - The result holds credentials; write it with mode C(0600) and C(no_log=true).
author:
  - gardener.autonomous contributors (@gardener)
positional: _input
options:
  _input:
    description: The API server URL.
    type: str
    required: true
  ca:
    description: The cluster CA certificate (PEM).
    type: str
    required: true
  client_certificate:
    description: Client certificate (PEM). Mutually exclusive with O(token).
    type: str
  client_key:
    description: Client key (PEM), required with O(client_certificate).
    type: str
  token:
    description: A bearer token (bootstrap token of a joining kubelet).
    type: str
  cluster:
    description: Name of the cluster entry.
    type: str
    default: shoot
  user:
    description: Name of the user entry.
    type: str
    default: user
"""

EXAMPLES = r"""
- name: Write the admin kubeconfig
  ansible.builtin.copy:
    dest: /etc/kubernetes/admin.conf
    mode: "0600"
    content: >-
      {{ 'https://localhost:443' | gardener.autonomous.kubeconfig(ca=ca_pem, client_certificate=admin_pem,
         client_key=admin_key_pem, cluster='shoot--garden--root', user='admin') }}
  no_log: true
"""

RETURN = r"""
_value:
  description: The kubeconfig as YAML text.
  type: str
"""

import base64
from typing import Any

import yaml
from ansible.errors import AnsibleFilterError


def _b64(text: str) -> str:
    return base64.b64encode(str(text).encode()).decode()


def kubeconfig(
    server: str,
    *,
    ca: str,
    client_certificate: str | None = None,
    client_key: str | None = None,
    token: str | None = None,
    cluster: str = "shoot",
    user: str = "user",
) -> str:
    # Ansible hands over tagged str subclasses, which yaml.safe_dump refuses: use plain str.
    server, cluster, user = str(server), str(cluster), str(user)
    credentials: dict[str, Any] = {}
    if client_certificate and client_key:
        credentials = {"client-certificate-data": _b64(client_certificate), "client-key-data": _b64(client_key)}
    if token:
        credentials["token"] = str(token)
    if len([kind for kind in ("client-certificate-data", "token") if kind in credentials]) != 1:
        raise AnsibleFilterError("kubeconfig: give exactly one credential: client_certificate and client_key, or token")
    if not server.startswith("https://"):
        raise AnsibleFilterError(f"kubeconfig: the server must be an https:// URL, got {server!r}")
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority-data": _b64(ca)}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    return yaml.safe_dump(document, default_flow_style=False, sort_keys=False)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"kubeconfig": kubeconfig}
