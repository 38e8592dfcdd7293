# Copyright (c) 2026 gardener.autonomous contributors
# Apache License 2.0 (see LICENSE)
from __future__ import annotations

# Documentation only: the action plugin of the same name does the work, on the controller.

DOCUMENTATION = r"""
module: cluster_pki
short_description: Reconcile the cluster's CAs, keys and certificates with the control-plane machines' secrets state
version_added: 0.1.0
description:
  - Takes the secrets state file of every control-plane machine (as text), checks that the machines agree,
    creates what is missing, re-issues certificates only where needed and returns, per machine, the text
    to write back, and every secret as text for rendering files.
  - The state is a YAML list of ShootState C(spec.gardener) entries in SecretState format, one per secret,
    named C(<name>-<hash of its config>) with the labels Gardener's secrets manager sets
    (C(managed-by), C(manager-identity), C(name), C(issued-at-time), C(valid-until-time), and
    C(persist=true) for authorities and keys). It can be exported as a ShootState as it is.
    The identity of a secret is its C(labels.name).
  - Authorities and keys must be identical on every machine that holds them; the task fails naming the
    secret and two machines that differ. They are created when missing and never replaced or removed.
    An authority that cannot sign (unreadable, key mismatch, not a CA, expired) fails the task; one that
    expires within O(renew_before_days) is kept with a warning.
  - Of a certificate's copies the one that best matches the spec is kept. A certificate is re-issued (with
    a new key) only when it is missing, its key does not match, its common name, organizations, usage or
    SANs differ from the spec, another CA signed it, or it expires within O(renew_before_days). RV(issued)
    says why. Certificates no longer in the spec are removed.
  - CAs and certificates use ECDSA P-256 keys, the C(rsa) and C(ssh) keys are RSA 3072; private keys are
    unencrypted PEM (C(EC PRIVATE KEY), C(RSA PRIVATE KEY)) or, for C(ssh), unencrypted OpenSSH
    (C(OPENSSH PRIVATE KEY)), so the files belong on the machines as root with mode C(0600).
  - Runs on the controller and writes nothing. Use it once per play (C(run_once)), then copy RV(contents) to
    every control-plane machine.
  - Reports C(changed) when a secret is created, re-issued or removed, or when a machine's file needs
    writing (it is missing, differs from the new state, or is not in the form O(encrypt) asks for).
author:
  - gardener.autonomous contributors (@gardener)
requirements:
  - cryptography >= 42.0.0 and PyYAML on the controller.
extends_documentation_fragment:
  - gardener.autonomous.attributes
  - gardener.autonomous.attributes.CONTROLLER
attributes:
  check_mode:
    support: full
    details: Computes everything as in a normal run (there is nothing to write) and reports the same C(changed).
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Once RV(contents) is written back, the next run reports no change and returns every machine's text
        unchanged, unless a certificate comes within O(renew_before_days) of expiry.
options:
  states:
    description:
      - The current secrets state file of each control-plane machine, by inventory hostname, as text; an empty
        string or C(null) when the machine has no file yet.
      - Text that starts with C($ANSIBLE_VAULT;) is decrypted with the play's vault secrets.
    type: dict
    required: true
  authorities:
    description: Certificate authorities (self-signed, CA=true, keyCertSign, cRLSign, digitalSignature).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The secret's name (C(labels.name)), unique across authorities, certificates and keys.
        type: str
        required: true
      common_name:
        description: Subject common name. A stored CA with another common name is kept, with a warning.
        type: str
        required: true
  certificates:
    description:
      - Certificates signed by one of O(authorities); data keys C(tls.crt) and C(tls.key).
      - They start 5 minutes in the past (clock skew) and carry a random 128-bit serial, SKI and AKI, and
        key usage digitalSignature.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The secret's name (C(labels.name)), unique across authorities, certificates and keys.
        type: str
        required: true
      ca:
        description: Name of the authority in O(authorities) that signs it.
        type: str
        required: true
      common_name:
        description: Subject common name (the user name for Kubernetes client certificates).
        type: str
        required: true
      organizations:
        description: Subject organizations (the groups for Kubernetes client certificates).
        type: list
        elements: str
        default: []
      dns_names:
        description: DNS subject alternative names.
        type: list
        elements: str
        default: []
      ip_addresses:
        description: IP subject alternative names (IPv4 or IPv6).
        type: list
        elements: str
        default: []
      usage:
        description:
          - Extended key usage. V(server) is serverAuth, V(client) is clientAuth, V(peer) is both.
        type: str
        required: true
        choices: [server, client, peer]
  keys:
    description:
      - Keys that are not certificates.
      - V(rsa) has data keys C(id_rsa) (PEM private key) and C(id_rsa.pub) (PEM public key, SubjectPublicKeyInfo),
        as used for the service-account key.
      - V(ssh) has data keys C(id_rsa) (private key in OpenSSH format) and C(id_rsa.pub) (the public key as one
        C(authorized_keys) line, C(ssh-rsa AAAA...)), as Gardener's secrets manager lays out the machines' SSH
        key pair C(ssh-keypair). A stored key whose C(id_rsa) is PEM (as in a ShootState from Gardener) is kept.
      - V(aescbc) has data keys C(key) (a key name such as C(key1700000000)) and C(secret) (base64 of 32 random
        bytes), as used in an EncryptionConfiguration for encryption at rest.
      - V(static-token) has data key C(static_tokens.csv) (lines C(<token>,<user>,<user>), kube-apiserver's
        token file) and one data key per user holding that user's token (32 URL-safe characters). When
        O(keys[].users) changes, the remaining users keep their tokens.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The secret's name (C(labels.name)), unique across authorities, certificates and keys.
        type: str
        required: true
      type:
        description: The kind of key.
        type: str
        required: true
        choices: [rsa, ssh, aescbc, static-token]
      users:
        description: The token users of a V(static-token) key (required there, not allowed elsewhere).
        type: list
        elements: str
        default: []
  certificate_validity_days:
    description: Validity of new certificates, in days.
    type: int
    default: 365
  authority_validity_days:
    description: Validity of new authorities, in days.
    type: int
    default: 3650
  renew_before_days:
    description:
      - Certificates that expire within this many days are re-issued; authorities that do are kept with a
        warning. Must be less than O(certificate_validity_days).
    type: int
    default: 30
  encrypt:
    description:
      - Vault-encrypt the text to write to the machines with the play's vault secret (the one
        C(ansible-vault encrypt) would use). A machine whose file already holds the new state, encrypted,
        keeps its ciphertext.
      - Write RV(contents) with M(ansible.builtin.copy) and O(ansible.builtin.copy#module:decrypt=false);
        otherwise copy decrypts the text again before writing it.
      - With V(false), a machine whose file is encrypted gets the plain text.
    type: bool
    default: false
notes:
  - The task fails, without key material in its message, when the spec is invalid (unknown O(certificates[].ca),
    duplicate names, bad usage, type or IP address), when machines disagree on an authority or key, when a
    stored authority cannot sign, or when an encrypted state cannot be decrypted.
  - The result of a successful run is always censored in the output, as with C(no_log), because it holds
    key material. Leave C(no_log) off the task so that a failure shows its message.
seealso:
  - name: ShootState
    description: The Gardener resource whose C(spec.gardener) entries the state file holds.
    link: https://gardener.cloud/docs/gardener/api-reference/core/#core.gardener.cloud/v1beta1.ShootState
"""

EXAMPLES = r"""
- name: Reconcile the cluster PKI
  hosts: control_plane
  become: true
  vars:
    pki_state_dir: /var/lib/gardener-autonomous
    pki_ca_dir: /etc/kubernetes/pki
  tasks:
    - name: Look for the secrets state
      ansible.builtin.stat:
        path: "{{ pki_state_dir }}/secrets.yaml"
      register: pki_state_file

    - name: Read the secrets state
      ansible.builtin.slurp:
        src: "{{ pki_state_dir }}/secrets.yaml"
      register: pki_state
      when: pki_state_file.stat.exists
      no_log: true

    - name: Keep the state as text
      ansible.builtin.set_fact:
        pki_state_text: "{{ pki_state.content | b64decode if pki_state_file.stat.exists else '' }}"
      no_log: true

    - name: Reconcile the secrets with the spec
      gardener.autonomous.cluster_pki:
        states: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'pki_state_text'))) }}"
        authorities:
          - {name: ca, common_name: kubernetes}
          - {name: ca-etcd, common_name: etcd}
        certificates:
          - name: kube-apiserver
            ca: ca
            common_name: kube-apiserver
            dns_names: [kubernetes, kubernetes.default, kubernetes.default.svc, api.example.com]
            ip_addresses: ["10.252.0.1", "10.250.0.10"]
            usage: server
          - name: admin
            ca: ca
            common_name: admin
            organizations: ["system:masters"]
            usage: client
          - name: etcd-peer-cp-0
            ca: ca-etcd
            common_name: cp-0
            ip_addresses: ["10.250.0.10"]
            usage: peer
        keys:
          - {name: service-account-key, type: rsa}
          - {name: ssh-keypair, type: ssh}
          - {name: kube-apiserver-etcd-encryption-key, type: aescbc}
          - {name: kube-apiserver-static-token, type: static-token, users: [health-check]}
      run_once: true
      register: pki  # its display is censored anyway; without no_log a failure shows its message

    - name: Create the directories
      ansible.builtin.file:
        path: "{{ item }}"
        state: directory
        mode: "0700"
      loop:
        - "{{ pki_state_dir }}"
        - "{{ pki_ca_dir }}"

    - name: Write the secrets state back
      ansible.builtin.copy:
        content: "{{ pki.contents[inventory_hostname] }}"
        dest: "{{ pki_state_dir }}/secrets.yaml"
        mode: "0600"
        decrypt: false  # keeps vault text (encrypt=true) as it is
      no_log: true

    - name: Install the cluster CA
      ansible.builtin.copy:
        content: "{{ pki.secrets['ca']['ca.crt'] }}"
        dest: "{{ pki_ca_dir }}/ca.crt"
        mode: "0644"

    - name: Show what changed
      ansible.builtin.debug:
        msg: "issued: {{ pki.issued }}, removed: {{ pki.removed }}, join pin: {{ pki.ca_cert_hash }}"
"""

RETURN = r"""
contents:
  description:
    - By inventory hostname (the keys of O(states)), the exact text to write to that machine's state file.
    - A machine whose file already holds the new state in the wanted form (encrypted or not, see O(encrypt))
      gets its current text back, so that copying it is a no-op; the others get the new state.
    - Secret. Holds every key of the cluster.
  returned: success
  type: dict
  sample:
    cp-0: "# Cluster secrets state of gardener.autonomous: ...\n- data:\n    data:\n      ca.crt: LS0tLS1CRUdJTi...\n"
secrets:
  description:
    - Every secret of the new state by name (C(labels.name)), as a dict of data key to text, for example
      C(secrets['ca']['ca.crt']), C(secrets['kube-apiserver']['tls.key']),
      C(secrets['kube-apiserver-static-token']['static_tokens.csv']), C(secrets['ssh-keypair']['id_rsa.pub']).
    - Secret. Holds every key of the cluster.
  returned: success
  type: dict
  sample:
    ca:
      ca.crt: "-----BEGIN CERTIFICATE-----\nMIIBdj...\n-----END CERTIFICATE-----\n"
      ca.key: "-----BEGIN EC PRIVATE KEY-----\n...\n-----END EC PRIVATE KEY-----\n"
    kube-apiserver-etcd-encryption-key:
      key: key1767225600
      secret: "<base64 of 32 bytes>"
    ssh-keypair:
      id_rsa: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA...\n-----END OPENSSH PRIVATE KEY-----\n"
      id_rsa.pub: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ...\n"
ca_cert_hash:
  description:
    - C(sha256:<hex>) of the SubjectPublicKeyInfo of the cluster CA (the authority named C(ca)), the form of
      kubeadm's C(--discovery-token-ca-cert-hash), for pinning the CA when joining.
  returned: success, when an authority named C(ca) exists
  type: str
  sample: sha256:8d1e1f8b3c0f4a6f7d4c2b9e5a1d3c7b9e0f2a4c6e8b0d2f4a6c8e0b2d4f6a8c
issued:
  description: Secrets created or re-issued by this run, in spec order (authorities, keys, certificates).
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The secret's name.
      type: str
      returned: always
    reason:
      description:
        - "Why, for example C(created), C(SANs changed: +10.0.0.4), C(expires in 12 days),
          C(signed by a different CA), C(users changed: +alice)."
      type: str
      returned: always
  sample:
    - {name: kube-apiserver, reason: "SANs changed: +10.250.0.13"}
removed:
  description: Certificates that are no longer in the spec and were removed from the state.
  returned: success
  type: list
  elements: str
  sample: [kubelet-cp-3, kubelet-serving-cp-3]
warnings:
  description: Authorities that expire within O(renew_before_days) or whose common name differs from the spec.
  returned: when there are any
  type: list
  elements: str
  sample:
    - 'authority "ca-etcd" expires in 20 days (on 2036-01-20); authorities are never renewed automatically: plan a
      CA rotation'
"""
