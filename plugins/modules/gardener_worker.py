# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: gardener_worker
short_description: Create, delete or migrate a Gardener Worker extension object and wait for its machines
version_added: 0.1.0
description:
  - Declares the C(extensions.gardener.cloud/v1alpha1) C(Worker) of a shoot in the bootstrap cluster
    (C(gardenadm bootstrap) step "Worker", with only the control-plane pool), asks its provider extension to
    reconcile it and waits until it is ready; or migrates or deletes it.
  - Its C(spec) carries C(type), C(region), C(secretRef), C(infrastructureProviderStatus) (the Infrastructure's
    C(status.providerStatus)) and C(pools), each with at least C(name), C(machineType), C(minimum),
    C(maximum), C(maxSurge), C(maxUnavailable) and C(userDataSecretRef).
  - Returns the machine-controller-manager's C(Machine) objects of the namespace with their addresses, which
    is how the next steps reach the control-plane machine.
  - The bootstrap cluster's extension controller does the work; without one the object never becomes ready.
author:
  - gardener.autonomous contributors (@gardener)
extends_documentation_fragment:
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.ACTIONGROUP_KUBERNETES
  - gardener.autonomous.kubernetes_auth
  - gardener.autonomous.gardener_extension
options:
  wait_timeout:
    description:
      - Seconds to wait with O(wait); the Worker default (gardenlet waits up to 10 minutes as well).
    type: int
    default: 600
"""

EXAMPLES = r"""
- name: Create the control-plane machine through the Worker and wait until the extension is done
  gardener.autonomous.gardener_worker:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: shoot--garden--root
    name: root
    spec:
      type: local
      region: local
      secretRef:
        name: cloudprovider
        namespace: shoot--garden--root
      infrastructureProviderStatus: "{{ infrastructure.provider_status }}"
      pools:
        - name: control-plane
          machineType: local
          machineImage: {name: local, version: 1.0.0}
          minimum: 1
          maximum: 1
          maxSurge: 1
          maxUnavailable: 0
          zones: [local]
          userDataSecretRef:
            name: "{{ control_plane_osc_secret }}"
            key: cloud_config
  register: worker

- name: Remember the control-plane machine's internal address
  ansible.builtin.set_fact:
    control_plane_address: >-
      {{ (worker.machines | first).addresses | selectattr('type', 'eq', 'InternalIP')
         | map(attribute='address') | first }}

- name: Hand the Worker over to the new cluster
  gardener.autonomous.gardener_worker:
    kubeconfig: "{{ bootstrap_kubeconfig }}"
    namespace: shoot--garden--root
    name: root
    state: migrated
"""

RETURN = r"""
object:
  description:
    - The object after the task (predicted by a dry run in check mode), without C(metadata.managedFields).
    - C(null) when it does not exist.
  returned: when O(state) is V(present) or V(migrated), and on a failed wait
  type: dict
  sample:
    apiVersion: extensions.gardener.cloud/v1alpha1
    kind: Worker
    metadata:
      name: root
      namespace: shoot--garden--root
      annotations:
        gardener.cloud/timestamp: "2026-08-21T10:00:00.123456789Z"
      generation: 1
    spec: {type: local, region: local, pools: [{name: control-plane, machineType: local, minimum: 1, maximum: 1}]}
    status:
      observedGeneration: 1
      lastOperation: {type: Create, state: Succeeded, progress: 100, lastUpdateTime: "2026-08-21T10:00:42Z"}
status:
  description: The parts of C(object.status) a play needs; each key is C(null) when the extension did not set it.
  returned: when O(state) is V(present) or V(migrated), and on a failed wait
  type: dict
  contains:
    providerStatus:
      description: The extension's C(status.providerStatus).
      type: dict
    state:
      description: The extension's C(status.state), persisted into the ShootState.
      type: dict
    lastOperation:
      description: C(status.lastOperation) (C(type), C(state), C(progress), C(description), C(lastUpdateTime)).
      type: dict
    lastError:
      description: C(status.lastError) (C(description), C(codes), C(taskID), C(lastUpdateTime)).
      type: dict
  sample:
    providerStatus: null
    state: null
    lastOperation: {type: Create, state: Succeeded, progress: 100, lastUpdateTime: "2026-08-21T10:00:42Z"}
    lastError: null
machines:
  description:
    - The C(machine.sapcloud.io/v1alpha1) C(Machine) objects in O(namespace), sorted by name (empty when the
      machine CRDs are not installed).
  returned: when O(state) is V(present) or V(migrated)
  type: list
  elements: dict
  contains:
    name:
      description: Name of the Machine.
      type: str
    phase:
      description: C(status.currentStatus.phase), for example C(Pending), C(Available), C(Running) or C(Failed).
      type: str
    addresses:
      description: C(status.addresses), each with C(type) (C(InternalIP), C(Hostname) ...) and C(address).
      type: list
      elements: dict
    node:
      description: The C(node) label (the node's name once the machine has joined), or C(null).
      type: str
    class_name:
      description: C(spec.class.name), the MachineClass.
      type: str
  sample:
    - name: shoot--garden--root-control-plane-6b8f9-x2k4l
      phase: Available
      addresses: [{type: InternalIP, address: 10.250.0.10}, {type: Hostname, address: machine-0}]
      node: null
      class_name: shoot--garden--root-control-plane-5c1b2
machine_deployments:
  description: The Worker's C(status.machineDeployments) (C(name), C(minimum), C(maximum), C(priority)).
  returned: when O(state) is V(present) or V(migrated)
  type: list
  elements: dict
  sample:
    - {name: shoot--garden--root-control-plane-z1, minimum: 1, maximum: 1}
"""

from ansible_collections.gardener.autonomous.plugins.module_utils._gardener.extension_module import (
    run_extension_module,
)


def main() -> None:
    run_extension_module("Worker", wait_timeout=600)


if __name__ == "__main__":
    main()
