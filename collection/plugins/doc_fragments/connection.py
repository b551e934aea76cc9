# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation only.

The modules of pve.access are Rust binaries; ansible-doc reads their
sidecar YAML docs and merges these fragments into them. Nothing here runs
when a module runs.
"""

from __future__ import annotations


class ModuleDocFragment:
    # The connection options every module accepts (pve_api::connection_options).
    DOCUMENTATION = r"""
options:
  api_host:
    description:
      - The PVE node or cluster address to talk to.
      - A host name, V(host:port), or a URL such as V(https://pve1.example.com:8006) or
        V(https://pve1.example.com:8006/api2/json).
      - Uses the E(PROXMOX_HOST) environment variable if not specified.
      - Without O(api_host) and without E(PROXMOX_HOST), the module runs the local C(pvesh)
        command on the host it runs on, as root, without credentials (the C(local) backend), the
        idempotent version of running C(pveum) on a node over SSH. It fails clearly when
        there is no C(pvesh) or the module does not run as root.
      - In local mode no secret is ever put on a command line, where every user of the node can
        read it. A password goes to C(pveum) on its standard input (C(pveum passwd) to set it,
        C(pveum ticket) to check it); a secret PVE's command-line tools cannot read that way
        (such as a password with a line break) fails the task before it is sent.
      - Local mode works as V(root@pam) only, so a credential given without O(api_host)
        (O(api_password), O(api_token), O(api_token_id), O(api_token_secret), or an O(api_user)
        other than V(root@pam)) fails the task before anything is done, rather than being ignored.
        To act as those credentials on the node itself, set O(api_host=localhost) with
        O(fingerprint) or O(ca_path=/etc/pve/pve-root-ca.pem).
      - Each C(pvesh) run starts PVE's Perl code, a few tenths of a second on an idle node; a
        task that changes nothing runs it once.
    type: str
  api_port:
    description:
      - The port of the PVE API, used when O(api_host) does not name one.
      - Uses the E(PROXMOX_PORT) environment variable if not specified.
    type: int
    default: 8006
  api_user:
    description:
      - The user for password login, V(name@realm).
      - A user whose id has non-ASCII characters (such as V(jürgen@pve)) cannot work with a
        password, because PVE logs such a user in but then refuses its own ticket (PVE 8.4
        and 9.1). Use an API token of that user instead; tokens work.
      - The owner of a bare O(api_token_id).
      - Uses the E(PROXMOX_USER) environment variable if not specified.
      - Without O(api_host) only V(root@pam) is accepted, since local mode works as root.
    type: str
    default: root@pam
  api_password:
    description:
      - The password of O(api_user). Login uses C(POST /access/ticket), then the ticket cookie
        and the CSRF prevention token on writes.
      - Uses the E(PROXMOX_PASSWORD) environment variable if not specified.
      - A token (O(api_token), or O(api_token_id) with O(api_token_secret)) wins over a password.
      - Without O(api_host) the task fails, as with every credential (see O(api_host)).
      - A C(no_log) option, scrubbed from everything the module prints.
    type: str
  api_token_id:
    description:
      - An API token to authenticate with, either the bare token name (the owner is O(api_user))
        or the full V(user@realm!name).
      - Uses the E(PROXMOX_TOKEN_ID) environment variable if not specified.
      - Without O(api_host) the task fails, as with every credential (see O(api_host)).
    type: str
  api_token_secret:
    description:
      - The secret (UUID) of O(api_token_id).
      - Uses the E(PROXMOX_TOKEN_SECRET) environment variable if not specified.
      - A C(no_log) option, scrubbed from everything the module prints.
    type: str
  api_token:
    description:
      - A whole API token, V(user@realm!name=secret), the form the Terraform C(bpg/proxmox)
        provider uses and the form P(pve.access.pve_token#module) returns as RV(pve.access.pve_token#module:api_token).
      - Uses the E(PROXMOX_VE_API_TOKEN) environment variable if not specified.
      - Without O(api_host) the task fails, as with every credential (see O(api_host)).
      - A C(no_log) option, scrubbed from everything the module prints.
    type: str
  validate_certs:
    description:
      - Verify the server certificate against the system trust store and O(ca_path).
      - Ignored when O(fingerprint) is set.
      - Uses the E(PROXMOX_VALIDATE_CERTS) environment variable if not specified.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of CA certificates to trust in addition to the system trust store,
        for example the cluster CA C(/etc/pve/pve-root-ca.pem).
      - Uses the E(PROXMOX_CA_PATH) environment variable if not specified.
    type: path
  fingerprint:
    description:
      - The SHA-256 fingerprint of the server certificate, hex with or without colons
        (as shown by C(pvenode cert info) and printed by C(pve-sim)).
      - When set, the certificate must match it and nothing else is checked.
      - Uses the E(PROXMOX_FINGERPRINT) environment variable if not specified.
    type: str
  api_timeout:
    description:
      - Seconds for one try of a request as a whole (resolving the host name, connecting,
        the TLS handshake, sending the request and receiving the whole answer together), not
        for each step alone.
      - Transient failures (connection refused or reset, timeouts, HTTP 502, 503, 595, cluster
        lock timeouts) are retried with backoff, at most 3 tries with pauses of 0.25 and
        0.75 seconds, so one request takes at most 3 times O(api_timeout) plus 1 second.
        A server that does not answer, also one that accepts the connection but never
        completes the TLS handshake, fails the task within that time, and the message says
        which step timed out.
      - In local mode each C(pvesh) or C(pveum) run gets 5 seconds more, to start PVE's code,
        so that a write waiting the 10 seconds PVE allows for a cluster lock ends with PVE's
        own error.
      - Uses the E(PROXMOX_API_TIMEOUT) environment variable if not specified.
    type: int
    default: 10
notes:
  - The modules are statically linked binaries; the host that runs them (usually the
    controller, with C(delegate_to) or a play on C(localhost)) needs no Python and no libraries.
  - Ansible does not validate the options of binary modules; the module does it, as
    AnsibleModule would (types, defaults, choices, aliases, unknown options).
  - Options that hold secrets (O(api_password), O(api_token_secret), O(api_token) and any
    password option) are scrubbed from everything the module prints.
  - "Errors name the request, the HTTP status and the server's message, for example
    V(PUT /access/acl: 403 Permission check failed), followed by the path and privilege
    PVE names; the result has the HTTP status as C(status)."
  - In local mode errors carry PVE's error as C(pvesh) prints it (a status such as C(400), or
    C(500) for an error without one), not the progress lines before it (C(trying to acquire
    cfs lock ...)).
"""
