#!/usr/bin/env bash
# Installs the Docker engine from Debian and starts one dockerd, unless one already answers.
# A second dockerd on the same machine deletes the first one's docker0 bridge, hence the checks.
source "$(dirname "$0")/lib.sh"

step "Docker engine"
if docker_ready; then
  info "dockerd is running ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi
apt_install docker.io containerd runc iptables
if pgrep -x dockerd >/dev/null; then
  info "dockerd is starting; waiting for it"
else
  info "starting dockerd (log: /var/log/dockerd.log)"
  as_root bash -c 'nohup dockerd >>/var/log/dockerd.log 2>&1 &'
fi
for _ in $(seq 1 60); do
  docker_ready && { info "dockerd is ready"; exit 0; }
  sleep 1
done
tail -n 20 /var/log/dockerd.log >&2 || true
die "dockerd did not become ready within 60 s"
