#!/usr/bin/env bash
# Builds, without any registry, the Debian base image and the local site's node image:
# debootstrap -> docker import (base) -> docker build (node: systemd, sshd, python3, containerd,
# runc, CNI plugins, haproxy for the API load balancer). Images are tagged with a hash of their inputs,
# so an unchanged input is never rebuilt.
source "$(dirname "$0")/lib.sh"

BASE_HASH=$(content_hash hack/images/debian)
BASE_IMAGE="gardener-autonomous/debian:bookworm-$BASE_HASH"
NODE_IMAGE="gardener-autonomous/node:$(content_hash hack/images/debian hack/images/node)"

step "Debian base image"
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  info "present: $BASE_IMAGE"
else
  apt_install debootstrap
  rootfs_tar="$CACHE_DIR/rootfs/bookworm-minbase-$BASE_HASH.tar"
  if [ ! -s "$rootfs_tar" ]; then
    work=$(mktemp -d)
    trap 'as_root rm -rf "$work"' EXIT
    info "debootstrap bookworm (about a minute)"
    # shellcheck disable=SC2046
    as_root debootstrap --variant=minbase \
      --include=$(paste -sd, "$HACK_DIR/images/debian/packages") \
      bookworm "$work/rootfs" "$(debian_mirror)" >"$work/debootstrap.log" 2>&1 \
      || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    as_root rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
    mkdir -p "$(dirname "$rootfs_tar")"
    as_root tar -C "$work/rootfs" -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
  fi
  info "docker import $BASE_IMAGE"
  docker import -c 'ENV container=docker' -c 'CMD ["/bin/bash"]' "$rootfs_tar" "$BASE_IMAGE" >/dev/null
fi

step "Node image"
if docker image inspect "$NODE_IMAGE" >/dev/null 2>&1; then
  info "present: $NODE_IMAGE"
else
  info "docker build $NODE_IMAGE"
  quietly docker build --force-rm --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$NODE_IMAGE" "$HACK_DIR/images/node"
fi
mkdir -p "$CACHE_DIR"
printf '%s\n' "$NODE_IMAGE" >"$CACHE_DIR/node-image"
printf '%s\n' "$BASE_IMAGE" >"$CACHE_DIR/debian-image"
