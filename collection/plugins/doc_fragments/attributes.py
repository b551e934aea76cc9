# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation only: the attributes shared by the pve.access modules."""

from __future__ import annotations


class ModuleDocFragment:
    # Modules that change state: full check and diff mode support.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - The module reads the current state and computes the requests it would make; in check
        mode it makes none of them (only reads and logins, C(POST /access/ticket), such as the
        login of a password session).
      - Everything the module checks before writing (names, paths, privileges, self-lockout)
        is checked in check mode too, so check mode fails where the real run would; except a
        referenced role, user, group, realm or token that does not exist yet, which check
        mode assumes an earlier task of the same run creates (with a warning naming it).
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details:
      - "The result has C(diff.before) and C(diff.after), the resource as the module returns it
        (V({}) when it does not exist; a list of ACL entries as a mapping V({acl: [...]});
        C(expire) as a date with its epoch), as the text Ansible shows: JSON with the keys
        sorted and non-ASCII characters as they are (Ansible would show a mapping with
        C(\\u) escapes). C(from_json) reads it back."
  action_group:
    description: Use C(group/pve.access.pve) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - pve.access.pve
"""

    # Information modules: they change nothing.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details:
      - This action does not modify state; it runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details:
      - This action does not modify state.
  action_group:
    description: Use C(group/pve.access.pve) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - pve.access.pve
"""
