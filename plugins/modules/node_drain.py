# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: node_drain
short_description: Drain a Kubernetes node through the Eviction API, or uncordon it
version_added: 0.1.0
description:
  - With O(state=drained), works as C(kubectl drain --ignore-daemonsets) does. It cordons the node,
    evicts its pods through the Eviction API, and waits until the evicted pods are gone.
  - An eviction that a PodDisruptionBudget refuses is retried until O(timeout); the failure then
    names the pod and the budget.
  - The Eviction API version is discovered (C(policy/v1) where served, C(policy/v1beta1) on
    Kubernetes 1.20 and 1.21).
  - Skipped are mirror pods of static pods (the kubelet runs them whatever the API says) and pods
    that a DaemonSet manages (it would put them back at once, and they tolerate the cordon).
  - Pods with local storage (C(emptyDir) volumes) and pods that no controller manages (nothing
    re-creates them) are refused unless O(delete_emptydir_data) or O(force) allow them. The pods
    are checked before the node is cordoned, so that a refusal changes nothing. Pods that
    have finished are always evicted.
  - O(delete_node=true) deletes the Node object once it is drained, for a machine that leaves the
    cluster; a Node that does not exist then counts as done.
  - With O(state=uncordoned), makes the node schedulable again.
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
      - Reports whether the node would be cordoned, which pods would be evicted or skipped, and whether
        the Node would be deleted. The cordon and the deletion go as server-side dry runs; evictions are
        not tried, so a PodDisruptionBudget that would block one is not reported.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - A drained node has no pods left to evict, so a second run changes nothing.
options:
  name:
    description: Name of the Node.
    type: str
    required: true
  state:
    description:
      - V(drained) cordons the node and evicts its pods.
      - V(uncordoned) makes the node schedulable again.
    type: str
    choices: [drained, uncordoned]
    default: drained
  timeout:
    description:
      - Seconds for the whole drain, evictions that PodDisruptionBudgets refuse and waiting until
        the evicted pods are gone included.
    type: int
    default: 300
  grace_period:
    description:
      - Seconds each pod gets to terminate, instead of its own C(terminationGracePeriodSeconds).
      - V(0) removes a pod at once, without waiting for the kubelet to confirm that its containers stopped.
    type: int
  force:
    description:
      - Also evict pods that no controller (ReplicaSet, StatefulSet, Job ...) manages. Nothing re-creates them.
    type: bool
    default: false
  delete_emptydir_data:
    description:
      - Also evict pods with C(emptyDir) volumes. Their data is lost.
    type: bool
    default: false
  delete_node:
    description:
      - Delete the Node object after the drain. Only with O(state=drained).
    type: bool
    default: false
seealso:
  - module: kubernetes.core.k8s_drain
"""

EXAMPLES = r"""
- name: Drain a worker before its machine is maintained
  gardener.autonomous.node_drain:
    name: worker-1
    delete_emptydir_data: true
    timeout: 600

- name: Make it schedulable again
  gardener.autonomous.node_drain:
    name: worker-1
    state: uncordoned

- name: Drain a machine that leaves the cluster and remove its Node
  gardener.autonomous.node_drain:
    kubeconfig: /etc/kubernetes/admin.conf
    name: worker-2
    force: true
    delete_emptydir_data: true
    delete_node: true
"""

RETURN = r"""
evicted:
  description:
    - Pods evicted (in check mode, that would be evicted), as C(namespace/name).
    - When the task fails, those evicted before.
  returned: always
  type: list
  elements: str
  sample: [kube-system/coredns-5c98d7d4d8-x7kq2, default/web-0]
skipped_pods:
  description:
    - Pods left on the node, and why.
    - Not called C(skipped), which Ansible reads as "the task was skipped".
  returned: always
  type: list
  elements: dict
  contains:
    pod:
      description: The pod, as C(namespace/name).
      type: str
      sample: kube-system/kube-proxy-worker-1-8f7dd
    reason:
      description: Why it was not evicted.
      type: str
      sample: managed by DaemonSet kube-proxy-worker-1
  sample:
    - {pod: kube-system/kube-proxy-worker-1-8f7dd, reason: managed by DaemonSet kube-proxy-worker-1}
    - {pod: kube-system/kube-apiserver-cp-0, reason: mirror pod of a static pod}
deleted:
  description: Whether the Node object was deleted (in check mode, would be deleted).
  returned: always
  type: bool
  sample: false
duration:
  description: Seconds the task took, waiting included.
  returned: always
  type: float
  sample: 12.5
"""

import time
from copy import deepcopy
from typing import Any, Dict, Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.args import AUTH_ARG_SPEC, reveal_kubeconfig
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.drain import (
    Drainer,
    DrainFailed,
    DrainOptions,
    DrainReport,
    uncordon,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.errors import KubeError
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml


def argument_spec() -> Dict[str, Any]:
    return {
        **deepcopy(AUTH_ARG_SPEC),
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["drained", "uncordoned"], "default": "drained"},
        "timeout": {"type": "int", "default": 300},
        "grace_period": {"type": "int"},
        "force": {"type": "bool", "default": False},
        "delete_emptydir_data": {"type": "bool", "default": False},
        "delete_node": {"type": "bool", "default": False},
    }


def run(module: AnsibleModule) -> DrainReport:
    params = module.params
    with KubeClient.from_kubeconfig(params["kubeconfig"], params["context"]) as client:
        if params["state"] == "uncordoned":
            return uncordon(client, params["name"], module.check_mode)
        options = DrainOptions(
            timeout=params["timeout"],
            grace_period=params["grace_period"],
            force=params["force"],
            delete_emptydir_data=params["delete_emptydir_data"],
            delete_node=params["delete_node"],
            check_mode=module.check_mode,
        )
        return Drainer(client, params["name"], options).drain()


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    reveal_kubeconfig(module.no_log_values, module.params["kubeconfig"])
    require_yaml(module)
    if module.params["delete_node"] and module.params["state"] != "drained":
        module.fail_json(msg="delete_node needs state=drained: a Node is only deleted once it is drained")
    started = time.monotonic()
    try:
        report = run(module)
    except DrainFailed as error:
        report = error.report
        failure: Optional[str] = str(error)
    except KubeError as error:
        report, failure = DrainReport(), str(error)
    else:
        failure = None
    for warning in report.warnings:
        module.warn(warning)
    result = {**report.result(), "duration": round(time.monotonic() - started, 3)}
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
