"""Infrastructure: the site's networks, the firewall rules and the API load balancer.

- ``<site>-front``: the bastions' and the load balancer's network, published on 127.0.0.1 only;
- ``<site>-nodes``: internal, with the Shoot's ``spec.networking.nodes`` subnet (gateway .1), for the
  machines; the host's own traffic to it is rejected (``iptables -I OUTPUT -o br-<id> -j REJECT``), so
  only bastions reach the machines, as on a real site, and traffic between pod networks may cross it
  (``DOCKER-USER -i br-<id> -o br-<id> -j ACCEPT``);
- ``<site>-api``: haproxy on both networks, ``api.<domain>`` at .3 on the machine network, published on
  127.0.0.1:<api port>.

Status: ``nodesCIDR`` and ``providerStatus`` (``InfrastructureStatus``, see the README), which the
Worker receives as ``spec.infrastructureProviderStatus``.
"""

from __future__ import annotations

from typing import Any

from docker.models.containers import Container
from docker.models.networks import Network

from ansible_collections.gardener.autonomous.plugins.module_utils._k8s.client import KubeClient
from local_extension import loadbalancer
from local_extension.contract import CONFIGURATION_PROBLEM, PROVIDER_API_VERSION, Cluster, KubeObject, ReconcileError
from local_extension.site import Owner, Site, nth_address, published_port

FRONT = "front-network"
NODES = "machine-network"
LOAD_BALANCER_HOST = 3  # .3 of the machine network, as on hack/local-site


class InfrastructureActuator:
    kind = "Infrastructure"

    def __init__(self, site: Site) -> None:
        self.site = site

    def reconcile(self, client: KubeClient, obj: KubeObject, cluster: Cluster) -> dict[str, Any]:
        owner = Owner.of(obj)
        nodes_cidr = cluster.networking("nodes")
        with self.site.lock:
            front = self._network(f"{self.site.config.name}-front", owner, FRONT)
            nodes = self._network(f"{self.site.config.name}-nodes", owner, NODES, subnet=nodes_cidr)
            self.site.ensure_firewall_rules(nodes, owner)
            balancer = self._load_balancer(owner, front, nodes, f"api.{cluster.dns_domain}")
        return {
            "nodesCIDR": nodes_cidr,
            "providerStatus": {
                "apiVersion": PROVIDER_API_VERSION,
                "kind": "InfrastructureStatus",
                "networks": {
                    "front": {"name": front.name, "id": front.id},
                    "nodes": {"name": nodes.name, "id": nodes.id, "cidr": nodes_cidr},
                },
                "apiLoadBalancer": {
                    "name": balancer.name,
                    "id": balancer.id,
                    "hostname": f"api.{cluster.dns_domain}",
                    "address": nth_address(nodes_cidr, LOAD_BALANCER_HOST),
                    "port": published_port(balancer, "443/tcp"),
                },
            },
        }

    def delete(self, client: KubeClient, obj: KubeObject) -> None:
        namespace = obj["metadata"]["namespace"]
        for balancer in self.site.containers(namespace, loadbalancer.ROLE):
            self.site.remove_container(balancer)
        for role in (NODES, FRONT):
            for network in self.site.networks(namespace, role):
                self._remove_network(network, namespace)

    def _network(self, name: str, owner: Owner, role: str, subnet: str = "") -> Network:
        network = self.site.network(name)
        if network is None:
            return self.site.create_network(name, owner, role, subnet=subnet)
        self.site.check_owner(network.attrs.get("Labels") or {}, owner, f"network {name}")
        actual = ((network.attrs.get("IPAM") or {}).get("Config") or [{}])[0].get("Subnet")
        if subnet and actual != subnet:
            raise ReconcileError(
                f"network {name} has subnet {actual}, the Shoot's spec.networking.nodes is {subnet}: "
                "delete the Infrastructure and create it again to change it",
                CONFIGURATION_PROBLEM,
            )
        return network

    def _load_balancer(self, owner: Owner, front: Network, nodes: Network, api_domain: str) -> Container:
        name = f"{self.site.config.name}-api"
        existing = self.site.containers(owner.namespace, loadbalancer.ROLE)
        if existing:
            balancer = existing[0]
        else:
            self.site.check_free_name(name, owner)
            balancer = self.site.create_container(
                name,
                owner,
                loadbalancer.ROLE,
                hostname=name,
                command=loadbalancer.COMMAND,
                stop_signal="SIGTERM",
                ports={"443/tcp": ("127.0.0.1", self.site.config.api_port)},
                network=front.name,
            )
            address = nth_address(nodes.attrs["IPAM"]["Config"][0]["Subnet"], LOAD_BALANCER_HOST)
            nodes.connect(balancer, ipv4_address=address, aliases=[api_domain])
        loadbalancer.write_config(self.site, balancer, loadbalancer.desired_config(self.site, owner.namespace))
        if balancer.status != "running":
            balancer.start()
        return balancer

    def _remove_network(self, network: Network, namespace: str) -> None:
        network.reload()
        attached = sorted(entry["Name"] for entry in (network.attrs.get("Containers") or {}).values())
        if attached:
            raise ReconcileError(
                f"network {network.name} still has containers attached ({', '.join(attached)}): "
                f"delete the Worker and Bastions of namespace {namespace} first",
                "ERR_CLEANUP_CLUSTER_RESOURCES",
            )
        if network.attrs.get("Internal"):
            self.site.remove_firewall_rules(network)
        self.site.remove_network(network)
