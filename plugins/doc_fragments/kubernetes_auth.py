# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""Connection options of the Kubernetes modules; their argument spec is AUTH_ARG_SPEC in
plugins/module_utils/_k8s/args.py: change both together."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - The kubeconfig to connect with, either the path of a kubeconfig file on the machine the module
        runs on, or the kubeconfig itself as a dict (as AWX injects it, or as read with
        C(ansible.builtin.slurp) and C(from_yaml)).
      - The default is the admin kubeconfig of a control-plane machine, which talks to
        C(https://localhost:443).
      - The client authenticates with a client certificate or a bearer token (C(token) or C(tokenFile));
        C(exec) and C(auth-provider) plugins and proxies are not supported.
      - The option is never logged; of a dict, its credentials (client certificate and key, tokens,
        passwords) are masked in all output.
    type: raw
    default: /etc/kubernetes/admin.conf
  context:
    description:
      - The context of O(kubeconfig) to use; its C(current-context) when not given.
    type: str
requirements:
  - Python 3.8 or newer with PyYAML (Debian package C(python3-yaml)) on the machine the module runs on;
    the Kubernetes client is part of the collection.
"""
