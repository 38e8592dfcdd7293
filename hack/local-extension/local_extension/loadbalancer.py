"""The API load balancer: haproxy from the node image, TCP on port 443 to every control-plane machine's
kube-apiserver. Its configuration is derived from the machines that exist, so the Infrastructure (which
creates the load balancer) and the Worker (which creates the machines) write the same file."""

from __future__ import annotations

from docker.models.containers import Container

from local_extension.site import Site

CONFIG_PATH = "/etc/haproxy/haproxy.cfg"
COMMAND = ["haproxy", "-W", "-db", "-f", CONFIG_PATH]  # master-worker: SIGUSR2 reloads the configuration
ROLE = "api-load-balancer"
MACHINE_ROLE = "machine"
CONTROL_PLANE_LABEL = "local.extensions.gardener.cloud/control-plane"
MACHINE_ADDRESS_LABEL = "local.extensions.gardener.cloud/address"


def render(servers: list[tuple[str, str]]) -> str:
    """haproxy.cfg for (name, address) backends."""
    lines = [
        "# Written by the local extension (hack/local-extension): the API of the control-plane machines.",
        "global",
        "    maxconn 4000",
        "",
        "defaults",
        "    mode tcp",
        "    timeout connect 3s",
        "    timeout client 1h",
        "    timeout server 1h",
        "    default-server inter 2s fall 2 rise 2",
        "",
        "frontend kube-apiserver",
        "    bind :443",
        "    default_backend control-plane",
        "",
        "backend control-plane",
    ]
    lines += [f"    server {name} {address}:443 check" for name, address in servers]
    return "\n".join(lines) + "\n"


def desired_config(site: Site, namespace: str) -> str:
    machines = site.containers(namespace, MACHINE_ROLE, **{CONTROL_PLANE_LABEL: "true"})
    return render([(machine.name, machine.labels[MACHINE_ADDRESS_LABEL]) for machine in machines])


def sync(site: Site, namespace: str) -> None:
    """Writes the configuration the machines call for and reloads haproxy when it changed."""
    for balancer in site.containers(namespace, ROLE):
        write_config(site, balancer, desired_config(site, namespace))


def write_config(site: Site, balancer: Container, config: str) -> None:
    if site.read_file(balancer, CONFIG_PATH) == config:
        return
    site.write_file(balancer, CONFIG_PATH, config)
    balancer.reload()
    if balancer.status == "running":
        balancer.kill(signal="SIGUSR2")
