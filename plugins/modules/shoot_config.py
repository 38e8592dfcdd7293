# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
"""Documentation of gardener.autonomous.shoot_config; the code is the action plugin of the same name."""

from __future__ import annotations

DOCUMENTATION = r"""
module: shoot_config
short_description: Read and validate Gardener manifests and the site's machines into the C(shoot) fact
version_added: 0.1.0
description:
  - Reads a directory of Gardener manifests the way C(gardenadm) reads its config directory; recursively, only
    C(*.yaml), C(*.yml) and C(*.json) files, skipping files and directories whose name starts with C(.);
    YAML files may hold several documents, empty documents are ignored.
  - The directory holds exactly one C(Shoot), C(CloudProfile) and C(Project), at most one C(ShootState),
    C(SecretBinding) and C(CredentialsBinding), and any C(ControllerRegistration), C(ControllerDeployment),
    operator C(Extension), C(ConfigMap), C(Secret), C(WorkloadIdentity) and C(Namespace) (the last is ignored).
    Any other kind, or two objects of the same kind, namespace and name, is an error.
  - Validates the Shoot as a self-hosted shoot against its CloudProfile and Project (namespace C(garden), region,
    full C(major.minor.patch) Kubernetes version offered by the CloudProfile and at least 1.20, exactly one
    pool with C(controlPlane), machine types, images and zones, disjoint node, pod and service networks, the DNS
    domain, the bindings and Secrets of managed infrastructure (C(spec.credentialsBindingName) or the deprecated
    C(spec.secretBindingName), not both), no C(hibernation) and no C(seedName)).
  - When O(machines) is given, checks the inventory's machines against the Shoot (control-plane count, worker
    pools and their maximum, addresses inside the node network, unique addresses and node names, zones).
  - Returns the C(shoot) fact and sets it as a host fact; with C(run_once=true) Ansible sets it on every host of
    the play. Reports every problem at once, each naming the file (or inventory host), the field and the fix.
  - Never changes anything.
options:
  path:
    description:
      - The directory with the manifests, on the controller.
      - A relative path is searched like O(ansible.builtin.copy#module:src) in the role's C(files/) directory, the
        role's directory, the playbook's C(files/) directory and the playbook's directory; use an absolute path
        such as C({{ inventory_dir }}/gardener) to avoid the search.
    type: path
    required: true
  machines:
    description:
      - The machines of the site, keyed by inventory hostname. Each value is a dictionary with
        V(node_name) (the Kubernetes node name, a DNS-1123 subdomain), V(ip) (the node address, inside
        C(spec.networking.nodes)), V(role) (V(control-plane) or V(worker)), and optionally V(pool) and V(zone).
      - C(pool) defaults to the control-plane pool for control-plane machines and, for workers, to the
        first pool without C(controlPlane), as C(gardenadm join) does.
      - C(zone) defaults to the pool's zone when the pool has exactly one, to the empty string when it
        has none; it is required when the pool spans several zones.
      - Omitted or V(null) means that the machines are not known yet, as in medium touch (C(gardenadm bootstrap)),
        which validates the manifests before any machine exists. Every check of the manifests runs, none of
        the machines, and RV(shoot.machines) is empty.
    type: dict
  require_managed_infrastructure:
    description:
      - Fail unless the Shoot has managed infrastructure (C(spec.credentialsBindingName) or
        C(spec.secretBindingName) set), with the cloud credentials in a Secret (not a C(WorkloadIdentity)).
        Medium touch needs it, as it creates the machines through the infrastructure extension.
    type: bool
    default: false
notes:
  - The control-plane pool must have C(minimum) equal to C(maximum), and that number must be 1, 3 or 5. Upstream
    C(gardenadm) accepts only 1; this collection goes beyond it with highly available stacked etcd.
  - The C(spec.kubernetes.version) must name a patch release (V(1.20.2), not V(1.20)); C(gardenadm) does not run
    Gardener's admission plugins either, which would pick the patch release.
  - The fact can carry secrets, the cluster's from a C(ShootState) in the directory (RV(shoot.shoot_state)) and
    the cloud credentials of managed infrastructure (RV(shoot.credentials)). The module then censors the display
    of its own result (failures stay readable, they never quote secrets); set C(no_log=true) on tasks that print
    the fact.
extends_documentation_fragment:
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details: Reads only; check mode changes nothing.
  diff_mode:
    support: none
  idempotent:
    support: full
seealso:
  - name: gardenadm
    description: Gardener's own tool for self-hosted shoots, whose config directory this module reads.
    link: https://gardener.cloud/docs/gardener/concepts/gardenadm/
author:
  - gardener.autonomous contributors (@gardener)
"""

EXAMPLES = r"""
- name: Read the site's manifests and machines into the shoot fact
  gardener.autonomous.shoot_config:
    path: "{{ inventory_dir }}/gardener"
    machines:
      cp-0: {node_name: cp-0, ip: 10.250.0.10, role: control-plane}
      cp-1: {node_name: cp-1, ip: 10.250.0.11, role: control-plane}
      cp-2: {node_name: cp-2, ip: 10.250.0.12, role: control-plane}
      worker-0: {node_name: worker-0, ip: 10.250.0.20, role: worker, pool: worker, zone: local-a}
  run_once: true
  tags: [always]

- name: Validate the manifests for medium touch, before any machine exists
  gardener.autonomous.shoot_config:
    path: "{{ inventory_dir }}/gardener"
    require_managed_infrastructure: true
  run_once: true
  tags: [always]

- name: Build the machines from the inventory groups control_plane and workers and their node_ip
  gardener.autonomous.shoot_config:
    path: "{{ inventory_dir }}/gardener"
    machines: >-
      {%- set site = namespace(machines={}) -%}
      {%- for role, group in [('control-plane', 'control_plane'), ('worker', 'workers')] -%}
      {%- for host in groups[group] | default([]) -%}
      {%- set site.machines = site.machines | combine({host: {
            'node_name': hostvars[host].node_name | default(host),
            'ip': hostvars[host].node_ip,
            'role': role}}) -%}
      {%- endfor -%}
      {%- endfor -%}
      {{- site.machines -}}
  run_once: true
  tags: [always]

- name: Use the fact on any host
  ansible.builtin.debug:
    msg: "{{ ansible_facts.shoot.api_server_url }} serves Kubernetes {{ ansible_facts.shoot.kubernetes_version }}"
"""

RETURN = r"""
shoot:
  description: The cluster's facts (the C(shoot) fact), compiled from the manifests and the machines.
  returned: success
  type: dict
  contains:
    name:
      description: The Shoot's C(metadata.name).
      returned: success
      type: str
      sample: root
    namespace:
      description: The Shoot's namespace, always V(garden).
      returned: success
      type: str
      sample: garden
    project:
      description: The Project's C(metadata.name).
      returned: success
      type: str
      sample: garden
    technical_id:
      description: C(shoot--<project>--<name>), as Gardener names the shoot's namespaces and resources.
      returned: success
      type: str
      sample: shoot--garden--root
    kubernetes_version:
      description: C(spec.kubernetes.version).
      returned: success
      type: str
      sample: 1.20.2
    cluster_domain:
      description: The cluster's internal DNS domain.
      returned: success
      type: str
      sample: cluster.local
    dns_domain:
      description: C(spec.dns.domain).
      returned: success
      type: str
      sample: local.autonomous.test
    api_domain:
      description: The API server's DNS name, C(api.<dns_domain>).
      returned: success
      type: str
      sample: api.local.autonomous.test
    api_server_url:
      description: The URL workers and exported kubeconfigs use.
      returned: success
      type: str
      sample: https://api.local.autonomous.test
    networking_type:
      description: C(spec.networking.type), the networking (CNI) extension type.
      returned: success
      type: str
      sample: local-bridge
    networks:
      description: The node, pod and service networks from C(spec.networking).
      returned: success
      type: dict
      sample: {nodes: 10.250.0.0/24, pods: 10.251.0.0/16, services: 10.252.0.0/16}
    kubernetes_service_ip:
      description: The first address of the service network, the C(kubernetes) Service's cluster IP.
      returned: success
      type: str
      sample: 10.252.0.1
    dns_service_ip:
      description: The tenth address of the service network, the cluster DNS Service's cluster IP.
      returned: success
      type: str
      sample: 10.252.0.10
    control_plane_pool:
      description:
        - The worker pool with C(controlPlane), defaults filled in (C(machine.architecture) V(amd64), empty
          C(labels), C(taints) and C(zones), C(system_components.allow) V(true)); C(machine.image.version) is null
          when the Shoot leaves it unset.
      returned: success
      type: dict
      sample:
        name: control-plane
        minimum: 3
        maximum: 3
        zones: [local-a]
        machine: {type: local, architecture: amd64, image: {name: debian, version: "12"}}
        labels: {}
        taints: []
        system_components: {allow: true}
    worker_pools:
      description: The other worker pools in the Shoot's order, shaped like RV(shoot.control_plane_pool).
      returned: success
      type: list
      elements: dict
      sample:
        - name: worker
          minimum: 2
          maximum: 8
          zones: [local-a]
          machine: {type: local, architecture: amd64, image: {name: debian, version: "12"}}
          labels: {}
          taints: []
          system_components: {allow: true}
    managed_infrastructure:
      description: Whether the Shoot sets C(spec.credentialsBindingName) or C(spec.secretBindingName).
      returned: success
      type: bool
      sample: false
    credentials:
      description:
        - The cloud credentials of managed infrastructure, the Secret the CredentialsBinding or SecretBinding
          references; null for unmanaged infrastructure and for a CredentialsBinding that references a
          C(WorkloadIdentity).
        - Secret. Holds the cloud provider's credentials.
      returned: success
      type: dict
      contains:
        secret_name:
          description: The Secret's C(metadata.name).
          returned: success
          type: str
          sample: local
        secret_namespace:
          description: The Secret's C(metadata.namespace).
          returned: success
          type: str
          sample: garden
        data:
          description: The Secret's C(data), values base64-encoded as there; C(stringData) entries are encoded and
            take precedence, as the API server merges them.
          returned: success
          type: dict
          sample: {kubeconfig: YXBpVmVyc2lvbjogdjEK...}
      sample: null
    provider:
      description: C(spec.provider.type) and C(spec.region).
      returned: success
      type: dict
      sample: {type: local, region: local}
    machines:
      description:
        - The machines keyed by inventory hostname, with their pool and zone resolved.
        - Empty when O(machines) is not given.
      returned: success
      type: dict
      sample:
        cp-0: {node_name: cp-0, ip: 10.250.0.10, role: control-plane, pool: control-plane, zone: local-a}
        worker-0: {node_name: worker-0, ip: 10.250.0.20, role: worker, pool: worker, zone: local-a}
    shoot_state:
      description: The ShootState object as read, or null when the directory holds none. It carries secrets.
      returned: success
      type: dict
      sample: null
    uid:
      description: The Shoot's C(status.uid), or null when unset.
      returned: success
      type: str
      sample: null
    cloud_profile:
      description:
        - The CloudProfile object as read, with C(metadata) reduced to C(name), C(labels) and C(annotations)
          (without C(kubectl.kubernetes.io/last-applied-configuration)), as the C(Cluster) resource's
          C(spec.cloudProfile) carries it.
      returned: success
      type: dict
      sample:
        apiVersion: core.gardener.cloud/v1beta1
        kind: CloudProfile
        metadata: {name: local}
        spec: {type: local, regions: [{name: local, zones: [{name: local-a}]}]}
    shoot_manifest:
      description: The Shoot object as read, as the C(Cluster) resource's C(spec.shoot) carries it.
      returned: success
      type: dict
      sample:
        apiVersion: core.gardener.cloud/v1beta1
        kind: Shoot
        metadata: {name: root, namespace: garden}
        spec: {provider: {type: local}, region: local}
ansible_facts:
  description: The same dictionary as RV(shoot), as the host fact C(shoot).
  returned: success
  type: dict
  contains:
    shoot:
      description: See RV(shoot).
      returned: success
      type: dict
      sample: {name: root, technical_id: shoot--garden--root, api_server_url: https://api.local.autonomous.test}
problems:
  description: Every problem found, one line each, naming the file or inventory host, the field and the fix.
  returned: failure
  type: list
  elements: str
  sample:
    - "gardener/shoot.yaml (document 1): spec.kubernetes.version: '1.20' is not a full version; give
      major.minor.patch, e.g. '1.20.2'"
    - "inventory host cp-0: ip: 10.0.0.1 is outside spec.networking.nodes 10.250.0.0/24 of Shoot root
      (gardener/shoot.yaml (document 1)); give an address in that network or change the Shoot"
"""
