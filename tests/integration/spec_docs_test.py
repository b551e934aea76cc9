#!/usr/bin/env python3
"""The docs-against-spec comparison (spec_docs.py) finds each kind of drift.

A printed spec shaped like the modules' (env fallbacks, no_log, aliases,
choices, a list of dicts with suboptions, relations) and docs that agree
with it: no difference. Then one change at a time to the docs, each of which
must give exactly one message naming the module and the option.

Usage: spec_docs_test.py   (run by tests/integration/run.sh; exit 1 on failure)
"""

from __future__ import annotations

import copy
import sys

from spec_docs import differences, report

SPEC = {
    "argument_spec": {
        "api_password": {"type": "str", "no_log": True, "fallback": ["env_fallback", ["PROXMOX_PASSWORD"]]},
        "api_port": {"type": "int", "default": 8006, "fallback": ["env_fallback", ["PROXMOX_PORT"]]},
        "path": {"type": "str"},
        "roles": {"type": "list", "elements": "str", "aliases": ["role", "roleid"]},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "entries": {
            "type": "list",
            "elements": "dict",
            "options": {
                "path": {"type": "str", "required": True},
                "propagate": {"type": "bool"},
            },
        },
    },
    "mutually_exclusive": [["path", "entries"]],
    "required_one_of": [["path", "entries"]],
}

DOCS = {
    "api_password": {"type": "str", "description": ["The password (no_log). Default E(PROXMOX_PASSWORD)."]},
    "api_port": {"type": "int", "default": 8006, "description": "The port; E(PROXMOX_PORT)."},
    "path": {"description": ["Required unless O(entries) is given; mutually exclusive with O(entries)."]},
    "roles": {"type": "list", "elements": "str", "aliases": ["roleid", "role"], "description": ["Roles."]},
    "state": {"choices": ["absent", "present"], "default": "present", "description": ["State."]},
    "entries": {
        "type": "list",
        "elements": "dict",
        "description": ["One of O(path) and O(entries) is required. Mutually exclusive with O(path)."],
        "suboptions": {
            "path": {"type": "str", "required": True, "description": ["The path."]},
            "propagate": {"type": "bool", "description": ["Inherit."]},
        },
    },
}


def drift(change) -> list[str]:
    docs = copy.deepcopy(DOCS)
    change(docs)
    return differences("pve_demo", docs, SPEC)


# (what changes in the docs, the change, words the one message must hold)
CASES = [
    ("an option missing", lambda d: d.pop("roles"), ["option roles", "not documented"]),
    ("an option too many", lambda d: d.update(extra={"description": ["x"]}), ["option extra", "no such option"]),
    ("a wrong type", lambda d: d["api_port"].update(type="str"), ["option api_port", "type 'str'", "'int'"]),
    ("a wrong default", lambda d: d["state"].update(default="absent"), ["option state", "default 'absent'"]),
    ("no default", lambda d: d["api_port"].pop("default"), ["option api_port", "default None", "8006"]),
    ("a choice too many", lambda d: d["state"]["choices"].append("gone"), ["option state", "choices"]),
    ("an alias missing", lambda d: d["roles"]["aliases"].remove("role"), ["option roles", "aliases"]),
    ("wrong elements", lambda d: d["roles"].update(elements="int"), ["option roles", "elements 'int'"]),
    ("required when not", lambda d: d["path"].update(required=True), ["option path", "required True"]),
    ("no_log not said", lambda d: d["api_password"].update(description=["E(PROXMOX_PASSWORD)."]),
     ["option api_password", "no_log"]),
    ("env fallback not named", lambda d: d["api_port"].update(description=["The port."]),
     ["option api_port", "E(PROXMOX_PORT)"]),
    ("a relation not said", lambda d: d["path"].update(description=["Required unless O(entries) is given."]),
     ["option path", "mutually_exclusive", "O(entries)"]),
    ("a suboption missing", lambda d: d["entries"]["suboptions"].pop("propagate"),
     ["option entries.propagate", "not documented"]),
    ("a suboption mistyped", lambda d: d["entries"]["suboptions"]["propagate"].update(type="str"),
     ["option entries.propagate", "type 'str'", "'bool'"]),
    ("a suboption not required", lambda d: d["entries"]["suboptions"]["path"].pop("required"),
     ["option entries.path", "required False"]),
]


def main() -> int:
    failed = []
    same = differences("pve_demo", DOCS, SPEC)
    if same:
        failed.append(f"docs that agree with the spec give differences: {same}")
    for what, change, words in CASES:
        found = drift(change)
        if len(found) != 1 or not all(w in found[0] for w in ["pve_demo: "] + words):
            failed.append(f"{what}: want one message with {words}, got {found}")
    return report("spec_docs", len(CASES) + 1 - len(failed), failed)


if __name__ == "__main__":
    sys.exit(main())
