"""Address arithmetic for the local site playbook (repository tooling, not part of the collection)."""

from __future__ import annotations

import ipaddress


def nth_host(cidr: str, index: int) -> str:
    """The index-th address of a network (1 is the first usable one)."""
    network = ipaddress.ip_network(cidr)
    if not 0 < index < network.num_addresses - 1:
        raise ValueError(f"{cidr} has no host number {index}")
    return str(network.network_address + index)


class FilterModule:
    def filters(self):
        return {"local_site_nth_host": nth_host}
