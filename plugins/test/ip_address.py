# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

DOCUMENTATION = r"""
name: ip_address
short_description: Whether a string is an IPv4 or IPv6 address
version_added: 0.1.0
description:
  - True when the value parses as an IPv4 or IPv6 address (no network prefix), without the C(netaddr)
    library that C(ansible.utils.ipaddr) needs.
author:
  - gardener.autonomous contributors (@gardener)
options:
  _input:
    description: The value to test.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Split names and addresses for certificate SANs
  ansible.builtin.set_fact:
    dns_names: "{{ sans | reject('gardener.autonomous.ip_address') }}"
    ip_addresses: "{{ sans | select('gardener.autonomous.ip_address') }}"
"""

RETURN = r"""
_value:
  description: Whether the value is an IP address.
  type: bool
"""

import ipaddress
from typing import Any


def ip_address(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"ip_address": ip_address}
