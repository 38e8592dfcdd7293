# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: etcd_member
short_description: Decide how a stacked etcd member starts, add it to its cluster, or remove it
version_added: 0.1.0
description:
  - For O(state=present), chooses the C(--initial-cluster) and C(--initial-cluster-state) flags of one
    member of a stacked etcd cluster (C(etcd-main) or C(etcd-events) on a control-plane machine) and
    adds the member to its running cluster when it has to join one. The static pod manifest is then
    rendered with the returned flags.
  - The flags stay the same on every run, so that a rerun does not change the manifest.
  - "Brand-new cluster: the member has no data and no endpoint answers. Every member gets
    C(new) and the same O(initial_cluster)."
  - "Joining a running cluster: the member has no data and a member answers. Unless a member with
    O(peer_url) was added earlier and never started, the module runs C(member add) (this is the only
    change it makes) and returns C(existing) with the membership including this member, which is
    what etcd checks a joining member against."
  - "Restart: the member has data. The flags of O(manifest_path); without a manifest C(existing) with
    the current membership (with data etcd ignores both flags). When no endpoint answers either,
    C(existing) with O(initial_cluster)."
  - A member that has started before but whose data is gone is refused; remove it (O(state=absent))
    and run again. When an endpoint answers but the members cannot be listed (for example a TLS
    failure), a member without data is refused rather than started as a separate new cluster.
  - For O(state=absent), removes the member from its cluster; the last member is never removed.
  - Talks to etcd's v3 JSON gateway (etcd 3.4 or newer) over https with a client certificate, asking
    O(endpoints) in order. C(member add) and C(member remove) are retried for up to O(timeout) seconds
    while etcd reports a temporary condition (no leader; a member started less than five seconds ago).
author:
  - gardener.autonomous contributors (@gardener)
requirements:
  - PyYAML on the target machine (Debian package C(python3-yaml)).
extends_documentation_fragment:
  - gardener.autonomous.attributes
attributes:
  check_mode:
    support: full
    details: Never adds or removes a member; predicts C(changed) and returns the flags a real run would.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  name:
    description:
      - Name of the member (etcd's C(--name)), for example the machine's node name.
    type: str
    required: true
  peer_url:
    description:
      - The peer URL this member advertises (C(--initial-advertise-peer-urls)), for example
        C(https://10.0.0.10:2380).
      - Endpoints on this URL's host are this member's own; they are not asked while the member has no data.
    type: str
    required: true
  state:
    description:
      - V(present) decides the flags and adds the member when it joins a running cluster.
      - V(absent) removes the member (the one named O(name); a member added but never started has no
        name and is found by O(peer_url)).
    type: str
    choices: [present, absent]
    default: present
  initial_cluster:
    description:
      - "The membership of a brand-new cluster: C({<name>: <peer URL>}). Must map O(name) to O(peer_url)."
      - Used when nothing answers; members it lists that a running cluster does not have are normal
        during a scale-out and ignored.
    type: dict
  endpoints:
    description:
      - Client URLs (C(https://<host>:<port>)) of the members to ask, in order; usually those of every
        control-plane machine. This member's own URL may be among them (see O(peer_url)).
      - Connection failures (refused, unreachable, no connection within 2 seconds) mean that no member
        runs there; a TLS failure or an error from etcd means that one may, and is never taken for a
        missing cluster.
    type: list
    elements: str
    required: true
  ca_path:
    description: PEM file of the CA that signs the members' serving certificates.
    type: path
    required: true
  cert_path:
    description: PEM client certificate that the members accept (client-certificate authentication).
    type: path
    required: true
  key_path:
    description: Unencrypted PEM private key of O(cert_path).
    type: path
    required: true
  data_dir:
    description:
      - The member's data directory on the host, for example C(/var/lib/etcd-main/data). The member has data
        when C(<data_dir>/new.etcd/member) exists (the container runs with C(--data-dir=/var/etcd/data/new.etcd)).
      - Required when O(state=present).
    type: path
  manifest_path:
    description:
      - The member's static pod manifest, for example C(/etc/kubernetes/manifests/etcd-main.yaml). Its first
        container that sets C(--initial-cluster) is read (flags as separate C(command) or C(args) items).
      - Required when O(state=present).
    type: path
  timeout:
    description:
      - Seconds for each request, and for retrying C(member add) and C(member remove) while etcd reports a
        temporary condition. Connecting to an endpoint takes at most 2 seconds. At least 1.
    type: int
    default: 10
"""

EXAMPLES = r"""
- name: Decide the flags of this machine's etcd-main member (adds it when the cluster runs already)
  gardener.autonomous.etcd_member:
    name: "{{ inventory_hostname }}"
    peer_url: "https://{{ node_ip }}:2380"
    initial_cluster: "{{ dict(groups['control_plane'] | zip(peer_urls)) }}"
    endpoints: "{{ client_urls }}"
    ca_path: /var/lib/static-pods/etcd-main/ca/bundle.crt
    cert_path: /var/lib/gardener-autonomous/etcd-main-client.crt
    key_path: /var/lib/gardener-autonomous/etcd-main-client.key
    data_dir: /var/lib/etcd-main/data
    manifest_path: /etc/kubernetes/manifests/etcd-main.yaml
  vars:
    control_plane_ips: "{{ groups['control_plane'] | map('extract', hostvars, 'node_ip') }}"
    peer_urls: "{{ control_plane_ips | map('regex_replace', '^', 'https://') | map('regex_replace', '$', ':2380') }}"
    client_urls: "{{ control_plane_ips | map('regex_replace', '^', 'https://') | map('regex_replace', '$', ':2379') }}"
  register: etcd_main_member

- name: Use the flags in the etcd-main static pod
  ansible.builtin.debug:
    msg:
      - "--initial-cluster={{ etcd_main_member.initial_cluster }}"
      - "--initial-cluster-state={{ etcd_main_member.initial_cluster_state }}"

- name: Remove a control-plane machine's member from etcd-events
  gardener.autonomous.etcd_member:
    name: cp-2
    peer_url: https://10.0.0.12:2383
    state: absent
    endpoints:
      - https://10.0.0.10:2382
      - https://10.0.0.11:2382
    ca_path: /var/lib/static-pods/etcd-events/ca/bundle.crt
    cert_path: /var/lib/gardener-autonomous/etcd-events-client.crt
    key_path: /var/lib/gardener-autonomous/etcd-events-client.key
"""

RETURN = r"""
initial_cluster:
  description: The value of C(--initial-cluster), C(<name>=<peer URL>) entries sorted by name.
  returned: when O(state=present)
  type: str
  sample: cp-0=https://10.0.0.10:2380,cp-1=https://10.0.0.11:2380,cp-2=https://10.0.0.12:2380
initial_cluster_state:
  description: The value of C(--initial-cluster-state).
  returned: when O(state=present)
  type: str
  sample: existing
added:
  description: Whether this run added the member to the cluster (in check mode, whether it would).
  returned: when O(state=present)
  type: bool
  sample: true
members:
  description:
    - The cluster's members after the run (in check mode, as they are), sorted by name; empty when no
      endpoint answered.
    - A member that was added but has not started yet has an empty name and no client URLs.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The member's name.
      type: str
      sample: cp-0
    id:
      description: The member's ID in hex, as C(etcdctl member list) prints it.
      type: str
      sample: 8e9e05c52164694d
    peer_urls:
      description: The member's peer URLs.
      type: list
      elements: str
      sample: [https://10.0.0.10:2380]
    client_urls:
      description: The member's client URLs.
      type: list
      elements: str
      sample: [https://10.0.0.10:2379]
  sample:
    - name: cp-0
      id: 8e9e05c52164694d
      peer_urls: [https://10.0.0.10:2380]
      client_urls: [https://10.0.0.10:2379]
"""

import os
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.client import (
    EtcdClient,
    EtcdError,
    tls_context,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.manifest import (
    read_initial_flags,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._etcd.membership import (
    InitialFlags,
    Member,
    MembershipError,
    MembershipPlan,
    endpoints_avoiding,
    endpoints_to_ask,
    plan_membership,
    plan_removal,
)
from ansible_collections.gardener.autonomous.plugins.module_utils._yaml import require_yaml

ARGUMENT_SPEC: dict[str, Any] = {
    "name": {"type": "str", "required": True},
    "peer_url": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "initial_cluster": {"type": "dict"},
    "endpoints": {"type": "list", "elements": "str", "required": True},
    "ca_path": {"type": "path", "required": True},
    "cert_path": {"type": "path", "required": True},
    "key_path": {"type": "path", "required": True, "no_log": False},
    "data_dir": {"type": "path"},
    "manifest_path": {"type": "path"},
    "timeout": {"type": "int", "default": 10},
}

MEMBER_DIRECTORY = os.path.join("new.etcd", "member")  # below data_dir; the container's --data-dir
RETRY_INTERVAL = 1.0


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def allows_retry(self, error: EtcdError) -> bool:
        return error.transient and time.monotonic() + RETRY_INTERVAL < self.end


def present(module: AnsibleModule, client: EtcdClient) -> dict[str, Any]:
    params = module.params
    has_data = os.path.isdir(os.path.join(params["data_dir"], MEMBER_DIRECTORY))
    manifest_flags = read_initial_flags(params["manifest_path"])
    client = client.with_endpoints(endpoints_to_ask(params["endpoints"], params["peer_url"], has_data))
    members, list_failure = first_member_list(client)
    deadline = Deadline(params["timeout"])
    attempted_add = False
    while True:
        plan = decide(module, has_data, manifest_flags, members, list_failure)
        if not plan.add or module.check_mode:
            break
        attempted_add = True
        try:
            members = client.member_add([params["peer_url"]])
        except EtcdError as error:
            if not deadline.allows_retry(error):
                raise
            time.sleep(RETRY_INTERVAL)
            members = client.member_list()  # the add may have happened all the same
    # After an add the plan is made again from the new membership: our member is there, unstarted.
    added = plan.add if module.check_mode else attempted_add
    for warning in plan.warnings:
        module.warn(warning)
    return {
        "changed": added,
        "added": added,
        "initial_cluster": plan.flags.initial_cluster,
        "initial_cluster_state": plan.flags.state,
        "members": members_result(members or []),
    }


def first_member_list(client: EtcdClient) -> tuple[list[Member] | None, EtcdError | None]:
    try:
        return client.member_list(), None
    except EtcdError as error:
        return None, error


def decide(
    module: AnsibleModule,
    has_data: bool,
    manifest_flags: InitialFlags | None,
    members: list[Member] | None,
    list_failure: EtcdError | None,
) -> MembershipPlan:
    params = module.params
    answered = list_failure is not None and list_failure.answered
    try:
        return plan_membership(
            params["name"],
            params["peer_url"],
            has_data=has_data,
            manifest_flags=manifest_flags,
            members=members,
            initial_cluster=params["initial_cluster"],
            list_error=str(list_failure) if answered else "",
        )
    except MembershipError as error:
        if members is not None or list_failure is None or answered:
            raise
        raise MembershipError(f"{error} ({list_failure})") from None  # which endpoints did not answer, and why


def absent(module: AnsibleModule, client: EtcdClient) -> dict[str, Any]:
    params = module.params
    members = client.member_list()
    deadline = Deadline(params["timeout"])
    attempted_remove = False
    while True:
        target = plan_removal(members, params["name"], params["peer_url"])
        if target is None:
            return {"changed": attempted_remove, "members": members_result(members)}
        if module.check_mode:
            return {"changed": True, "members": members_result(members)}
        attempted_remove = True
        try:
            members = client.with_endpoints(endpoints_avoiding(client.endpoints, target)).member_remove(target.id)
        except EtcdError as error:
            if not deadline.allows_retry(error):
                raise
            time.sleep(RETRY_INTERVAL)
            members = client.member_list()  # the removal may have happened all the same


def members_result(members: list[Member]) -> list[dict[str, Any]]:
    return [member.as_result() for member in sorted(members, key=lambda member: (member.name, member.peer_urls))]


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("state", "present", ("data_dir", "manifest_path"))],
        supports_check_mode=True,
    )
    require_yaml(module)
    params = module.params
    if params["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, got {params['timeout']}")
    try:
        context = tls_context(params["ca_path"], params["cert_path"], params["key_path"])
    except OSError as error:  # ssl.SSLError is an OSError; neither carries key material
        module.fail_json(msg=f"cannot load the etcd client TLS files (ca_path, cert_path, key_path): {error}")
    try:
        client = EtcdClient(params["endpoints"], context, params["timeout"])
        result = present(module, client) if params["state"] == "present" else absent(module, client)
    except (EtcdError, ValueError, OSError) as error:  # ValueError: MembershipError, ManifestError, bad endpoints
        module.fail_json(msg=f"etcd member {params['name']!r}: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
