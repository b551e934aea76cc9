# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation only: the self-lockout rule every module that changes state
applies (pve_api::self_lockout), and its option."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  allow_self_lockout:
    description:
      - Allow a change that removes or weakens what gives the login the module runs with its
        access. Without it such a task fails before any write, also in check mode, with
        RV(msg) naming each thing it would take away.
      - "That access is: the ACL entries of its user and of that user's groups, and its
        membership in those groups (for an API token login, those of the token's owner, since a
        token never has more than its owner) and, for a token with privilege separation, the
        token's own entries; the privileges of the roles those entries use; its user being
        enabled, and its expiry (a sooner one counts); for a token also its own expiry, its
        privilege separation staying off, and its secret (regenerating it). Granting the
        role C(NoAccess) to any of those principals counts too."
      - V(root@pam) holds every privilege without any entry, group or role, so for it only its
        expiry (and a token's own entries, privsep, expiry and secret) count.
      - Deleting or disabling V(root@pam), the user the module authenticates as (for a token
        login, its owner) or the token it authenticates with is refused also with this
        option; do that with another login.
      - The groups of the login and a token's privilege separation are read (one
        C(GET /access/users?full=1)), and for a role the ACL (C(GET /access/acl)), only when
        a change could concern them. A token that may not read its owner's user counts every
        group as possibly its own, and its privilege separation as on. Entries this login may
        not read are not known to it.
    type: bool
    default: false
"""
