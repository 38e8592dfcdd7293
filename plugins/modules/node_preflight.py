#!/usr/bin/python
# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
module: node_preflight
short_description: Check that a machine can become a Kubernetes node
version_added: 0.1.0
description:
  - Checks, without changing anything, the prerequisites of a machine before it is touched, namely systemd as init,
    the commands and Python modules it needs, free TCP ports, free disk space and the clock.
  - Reports every problem at once and fails, so that a run stops before any machine is changed.
options:
  commands:
    description: Commands that must be on the C(PATH), for example C(containerd), C(ctr), C(iptables).
    type: list
    elements: str
    default: []
  python_modules:
    description: Python modules the collection's modules need on the machine.
    type: list
    elements: str
    default: []
  ports:
    description:
      - TCP ports that must be free.
      - Skipped when O(installed_marker) exists, because then the ports belong to the node's own components.
    type: list
    elements: int
    default: []
  installed_marker:
    description: A file that exists once the machine has been set up (the kubelet configuration).
    type: path
  min_free_mib:
    description: Minimum free space in MiB, by path (the nearest existing parent is measured).
    type: dict
    default: {}
  controller_time:
    description: The controller's clock as seconds since the epoch; compared with the machine's clock.
    type: float
  max_clock_skew:
    description: The largest clock difference, in seconds, that is accepted.
    type: float
    default: 60
extends_documentation_fragment:
  - gardener.autonomous.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
author:
  - gardener.autonomous contributors (@gardener)
"""

EXAMPLES = r"""
- name: Check the machine before it is touched
  gardener.autonomous.node_preflight:
    commands: [containerd, ctr, iptables, mount]
    python_modules: [yaml]
    ports: [10250]
    installed_marker: /var/lib/kubelet/config/kubelet
    min_free_mib:
      /var/lib: 2048
    controller_time: "{{ now(utc=true).timestamp() }}"
"""

RETURN = r"""
problems:
  description: What is wrong, one sentence each with the fix; empty when the machine is ready.
  returned: always
  type: list
  elements: str
  sample: ["port 443 is already in use; stop what listens on it (see `ss -ltnp 'sport = :443'`)"]
clock_skew:
  description: Machine clock minus controller clock, in seconds (when O(controller_time) is given).
  returned: when O(controller_time) is set
  type: float
  sample: 0.4
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gardener.autonomous.plugins.module_utils._node import preflight


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "commands": {"type": "list", "elements": "str", "default": []},
            "python_modules": {"type": "list", "elements": "str", "default": []},
            "ports": {"type": "list", "elements": "int", "default": []},
            "installed_marker": {"type": "path"},
            "min_free_mib": {"type": "dict", "default": {}},
            "controller_time": {"type": "float"},
            "max_clock_skew": {"type": "float", "default": 60},
        },
        supports_check_mode=True,
    )
    params = module.params
    machine_time = time.time()
    problems = preflight.systemd_problems()
    problems += preflight.command_problems(params["commands"])
    problems += preflight.python_module_problems(params["python_modules"])
    marker = params["installed_marker"]
    if not (marker and os.path.exists(marker)):
        problems += preflight.port_problems(params["ports"], preflight.listening_ports())
    problems += preflight.disk_problems({path: int(mib) * 2**20 for path, mib in params["min_free_mib"].items()})
    result: dict = {"changed": False}
    if params["controller_time"] is not None:
        result["clock_skew"] = round(machine_time - params["controller_time"], 1)
        problems += preflight.clock_problems(machine_time, params["controller_time"], params["max_clock_skew"])
    result["problems"] = problems
    if problems:
        module.fail_json(msg="the machine is not ready: " + "; ".join(problems), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
