# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_objects
short_description: Ensure a list of Kubernetes objects with server-side apply, merge patch or delete
version_added: 0.1.0
description:
  - Ensures each object of O(definitions), in order, on the Kubernetes API server of O(kubeconfig),
    the way C(kubernetes.core.k8s) does, without the C(kubernetes) Python package.
  - V(present) sends each object with server-side apply as O(field_manager). A change is detected
    without writing, by a server-side dry run of the same apply, compared with the live object
    ignoring C(metadata.resourceVersion), C(metadata.generation), C(metadata.managedFields) and
    C(status); only an object that would change is written, so a second run changes nothing.
  - V(patched) sends each object as a JSON merge patch (RFC 7386; C(null) removes a key), and only
    to an object that exists. A missing object is never created (a Node, say, or the
    C(kube-system) Namespace); it is reported as V(absent) with a warning.
  - V(absent) deletes each object (in the background, dependents left to the garbage collector).
    An object whose deletion was already requested is not requested again.
  - Every definition is checked before anything is written (apiVersion, kind, metadata.name, a
    kind the API serves, metadata.namespace exactly for namespaced kinds); the error names the
    item's index. After that, the first object the API refuses stops the task with the API's
    own message; the objects before it stay as they were written.
  - A CustomResourceDefinition may come before its own objects in the same list; those wait until
    the API serves their kind.
author:
  - gardener.autonomous contributors (@gardener)
extends_documentation_fragment:
  - gardener.autonomous.kubernetes_auth
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.ACTIONGROUP_KUBERNETES
attributes:
  check_mode:
    support: full
    details:
      - Every write is a server-side dry run, so admission and schema validation still apply. Never waits.
      - Objects in a Namespace, or of a kind, that this task would create first cannot be dry-run; they
        are reported as V(created) with a warning.
  diff_mode:
    support: full
    details:
      - One C(before)/C(after) pair per object, without C(metadata.managedFields). The values of a
        Secret's C(data) and C(stringData), and a C(kubectl.kubernetes.io/last-applied-configuration)
        annotation on a Secret, show as C(<hidden>).
  idempotent:
    support: full
options:
  definitions:
    description:
      - The objects, each with C(apiVersion), C(kind) and C(metadata.name), and C(metadata.namespace)
        exactly when the kind is namespaced.
      - With O(state=absent) only their identity counts.
      - The values of Secrets in this list are masked in all output.
    type: list
    elements: dict
    required: true
  state:
    description:
      - V(present) creates or updates each object with server-side apply.
      - V(patched) merge-patches objects that exist, and creates nothing. With O(wait), it first waits for an
        object that others create (a Node its kubelet registers) to appear, within O(wait_timeout).
      - V(absent) deletes each object.
    type: str
    choices: [present, patched, absent]
    default: present
  field_manager:
    description:
      - The server-side apply field manager. Fields this manager applied before and that a
        definition no longer contains are removed from the object.
    type: str
    default: gardener.autonomous
  force_conflicts:
    description:
      - Take over fields that another field manager owns, instead of failing with a conflict.
    type: bool
    default: false
  wait:
    description:
      - With O(state=present) or O(state=patched), wait until each object is ready once all are written.
        Ready means a Node C(Ready), a Deployment or DaemonSet rolled out (controller observed the latest generation,
        all replicas or pods updated and available), a CustomResourceDefinition C(Established); any
        other kind is ready when it exists. A CustomResourceDefinition is waited for before the next
        definition is sent.
      - With O(state=absent), wait until each object is gone (finalizers done).
      - A Deployment past its progress deadline fails at once.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds the whole task may take for O(wait), counted from its start. Also bounds how long an
        object waits for the kind of a CustomResourceDefinition applied before it to be served.
    type: int
    default: 120
notes:
  - Kubernetes 1.20 refuses a server-side apply of a Service or container port without C(protocol)
    ("associative list with keys has an element that omits key field protocol"); set it.
  - Fields first written by another kind of request (a create, update or merge patch) of the same
    field manager conflict with a later apply on Kubernetes 1.20; use O(force_conflicts) to take them over.
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Install the RBAC and the DaemonSet of a node agent and wait until it runs everywhere
  gardener.autonomous.cluster_objects:
    kubeconfig: /etc/kubernetes/admin.conf
    wait: true
    wait_timeout: 300
    definitions:
      - apiVersion: v1
        kind: ServiceAccount
        metadata: {name: node-agent, namespace: kube-system}
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: node-agent}
        rules:
          - {apiGroups: [""], resources: [nodes], verbs: [get, list, watch]}
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        metadata: {name: node-agent}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: node-agent}
        subjects:
          - {kind: ServiceAccount, name: node-agent, namespace: kube-system}
      - apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: node-agent, namespace: kube-system}
        spec:
          selector: {matchLabels: {app: node-agent}}
          template:
            metadata: {labels: {app: node-agent}}
            spec:
              serviceAccountName: node-agent
              containers:
                - name: agent
                  image: localhost/gardener-autonomous/node-agent:v1.0.0

- name: Apply every document of a manifest file from the controller
  gardener.autonomous.cluster_objects:
    kubeconfig: "{{ bootstrap_kubeconfig }}"  # a dict: the kubeconfig itself
    definitions: "{{ lookup('ansible.builtin.file', 'addons.yaml') | ansible.builtin.from_yaml_all | list }}"

- name: Label the kube-system Namespace (never creates it)
  gardener.autonomous.cluster_objects:
    state: patched
    definitions:
      - apiVersion: v1
        kind: Namespace
        metadata:
          name: kube-system
          labels:
            gardener.cloud/purpose: kube-system

- name: Remove a ConfigMap and wait until it is gone
  gardener.autonomous.cluster_objects:
    state: absent
    wait: true
    definitions:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: obsolete, namespace: kube-system}}
"""

RETURN = r"""
results:
  description: One entry per definition, in order (up to the failing one when the task fails).
  returned: always
  type: list
  elements: dict
  contains:
    apiVersion:
      description: The object's C(apiVersion).
      type: str
      sample: apps/v1
    kind:
      description: The object's kind.
      type: str
      sample: DaemonSet
    name:
      description: The object's name.
      type: str
      sample: node-agent
    namespace:
      description: The object's namespace; C(null) for cluster-scoped kinds.
      type: str
      sample: kube-system
    action:
      description:
        - What was done (or, in check mode, would be done). V(created), V(updated), V(patched) and
          V(deleted) are changes; V(unchanged) is none; V(absent) means the object does not exist
          (O(state=patched) or O(state=absent)) or its deletion had been requested before.
      type: str
      choices: [created, updated, unchanged, patched, deleted, absent]
      sample: created
  sample:
    - {apiVersion: v1, kind: ServiceAccount, name: node-agent, namespace: kube-system, action: unchanged}
    - {apiVersion: apps/v1, kind: DaemonSet, name: node-agent, namespace: kube-system, action: updated}
duration:
  description: Seconds the task took, waiting included.
  returned: always
  type: float
  sample: 1.42
diff:
  description:
    - One entry per object in diff mode, with C(before) and C(after) (C({}) when the object does not exist)
      and headers naming the object. Without C(metadata.managedFields); Secret values show as C(<hidden>).
  returned: in diff mode
  type: list
  elements: dict
  sample:
    - before: {}
      after: {apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: kube-system}, data: {a: "1"}}
      before_header: definitions[0] (ConfigMap kube-system/settings)
      after_header: definitions[0] (ConfigMap kube-system/settings)
"""

import time
from copy import deepcopy
from typing import Any, Dict

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import (
    AUTH_ARG_SPEC,
    kubeconfig_credentials,
    string_leaves,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.objects import (
    EnsureFailed,
    Options,
    Report,
    diff,
    ensure_objects,
    secret_values,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml


def argument_spec() -> Dict[str, Any]:
    return {
        **deepcopy(AUTH_ARG_SPEC),
        # no_log keeps Secrets out of the journal; narrow_masking limits the masking to their values.
        "definitions": {"type": "list", "elements": "dict", "required": True, "no_log": True},
        "state": {"type": "str", "choices": ["present", "patched", "absent"], "default": "present"},
        "field_manager": {"type": "str", "default": "gardener.autonomous"},
        "force_conflicts": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": False},
        "wait_timeout": {"type": "int", "default": 120},
    }


def narrow_masking(module: AnsibleModule) -> None:
    """Masks only credentials and the values of Secrets: masking every string of the no_log options
    ("v1", names, paths) would garble all output. Both options at once, so that neither unmasks
    a secret of the other."""
    kubeconfig, definitions = module.params["kubeconfig"], module.params["definitions"]
    module.no_log_values.difference_update(string_leaves(kubeconfig), string_leaves(definitions))
    module.no_log_values.update(kubeconfig_credentials(kubeconfig), secret_values(definitions))


def result_of(module: AnsibleModule, report: Report, started: float) -> Dict[str, Any]:
    result: Dict[str, Any] = {
        "changed": report.changed,
        "results": [outcome.summary() for outcome in report.outcomes],
        "duration": round(time.monotonic() - started, 3),
    }
    if module._diff:
        result["diff"] = [diff(outcome) for outcome in report.outcomes]
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    narrow_masking(module)
    require_yaml(module)
    params = module.params
    options = Options(
        state=params["state"],
        field_manager=params["field_manager"],
        force_conflicts=params["force_conflicts"],
        wait=params["wait"],
        wait_timeout=params["wait_timeout"],
        check_mode=module.check_mode,
    )
    started = time.monotonic()
    try:
        with KubeClient.from_kubeconfig(params["kubeconfig"], params["context"]) as client:
            report = ensure_objects(client, params["definitions"], options)
    except EnsureFailed as error:
        for warning in error.report.warnings:
            module.warn(warning)
        module.fail_json(msg=str(error), **result_of(module, error.report, started))
    except KubeError as error:
        module.fail_json(msg=str(error), **result_of(module, Report(), started))
    for warning in report.warnings:
        module.warn(warning)
    module.exit_json(**result_of(module, report, started))


if __name__ == "__main__":
    main()
