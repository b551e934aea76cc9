#!/usr/bin/env python3
"""Checks the installed collection's module docs against the contract.

`ansible-test sanity` (validate-modules) needs network access to build its
environment, so this does the part of its job that matters for binary
modules: every module's docs (plugins/modules/<m>.py, generated from its
sidecar .yml at build time) are found and rendered by ansible-doc (with the
doc fragments merged in), and they document exactly the options of
DESIGN.md with the right type, default, choices, aliases and env fallback,
say which options are no_log, declare check/diff mode attributes and the
action group, and have EXAMPLES that parse and use fully qualified names.

The contract below is DESIGN.md's, written down once more on purpose: a doc
change that drifts from the design fails here.

Usage: check_docs.py COLLECTIONS_PATH   (prints one line per check; exit 1 on failure)
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

import yaml

MODULES = ["pve_user", "pve_group", "pve_role", "pve_acl", "pve_token", "pve_permission_info", "pve_access_info"]


def opt(type_, default=None, aliases=(), choices=None, no_log=False, env=None, required=False,
        elements=None, suboptions=None):
    return dict(type=type_, default=default, aliases=sorted(aliases), choices=choices, no_log=no_log,
                env=env, required=required, elements=elements, suboptions=suboptions)


CONNECTION = {
    "api_host": opt("str", env="PROXMOX_HOST"),
    "api_port": opt("int", 8006, env="PROXMOX_PORT"),
    "api_user": opt("str", "root@pam", env="PROXMOX_USER"),
    "api_password": opt("str", no_log=True, env="PROXMOX_PASSWORD"),
    "api_token_id": opt("str", env="PROXMOX_TOKEN_ID"),
    "api_token_secret": opt("str", no_log=True, env="PROXMOX_TOKEN_SECRET"),
    "api_token": opt("str", no_log=True, env="PROXMOX_VE_API_TOKEN"),
    "validate_certs": opt("bool", True, env="PROXMOX_VALIDATE_CERTS"),
    "ca_path": opt("path", env="PROXMOX_CA_PATH"),
    "fingerprint": opt("str", env="PROXMOX_FINGERPRINT"),
    "api_timeout": opt("int", 10, env="PROXMOX_API_TIMEOUT"),
}

STATE = opt("str", "present", choices=["present", "absent"])

ACL_ENTRY = {
    "path": opt("str", required=True),
    "roles": opt("list", aliases=["role", "roleid"], elements="str", required=True),
    "users": opt("list", elements="str"),
    "groups": opt("list", elements="str"),
    "tokens": opt("list", elements="str"),
    # No own default: an entry without them takes the task's propagate and
    # state (DESIGN.md gives the entry's keys, not defaults of their own).
    "propagate": opt("bool"),
    "state": opt("str", choices=["present", "absent"]),
}

CONTRACT = {
    "pve_user": {
        "userid": opt("str", aliases=["name", "user"], required=True),
        "state": STATE,
        "enable": opt("bool", aliases=["enabled"]),
        "expire": opt("str"),
        "firstname": opt("str"),
        "lastname": opt("str"),
        "email": opt("str"),
        "comment": opt("str"),
        "groups": opt("list", elements="str"),
        "append": opt("bool", False),
        "password": opt("str", no_log=True),
        "update_password": opt("str", "on_create", choices=["always", "on_create"]),
        "allow_self_lockout": opt("bool", False),
    },
    "pve_group": {
        "groupid": opt("str", aliases=["name", "group"], required=True),
        "state": STATE,
        "comment": opt("str"),
        "members": opt("list", elements="str"),
        "append": opt("bool", False),
        "allow_self_lockout": opt("bool", False),
    },
    "pve_role": {
        "roleid": opt("str", aliases=["name", "role"], required=True),
        "state": STATE,
        "privs": opt("list", aliases=["privileges"], elements="str"),
        "append": opt("bool", False),
        "unknown_privs": opt("str", "fail", choices=["fail", "warn"]),
        "allow_self_lockout": opt("bool", False),
    },
    "pve_acl": {
        "path": opt("str"),
        "roles": opt("list", aliases=["role", "roleid"], elements="str"),
        "users": opt("list", elements="str"),
        "groups": opt("list", elements="str"),
        "tokens": opt("list", elements="str"),
        "propagate": opt("bool", True),
        "state": STATE,
        "entries": opt("list", elements="dict", suboptions=ACL_ENTRY),
        "exclusive": opt("bool", False),
        "allow_self_lockout": opt("bool", False),
    },
    "pve_token": {
        "userid": opt("str", aliases=["user"]),
        "tokenid": opt("str", aliases=["name", "token"], required=True),
        "state": STATE,
        "comment": opt("str"),
        "expire": opt("str"),
        "privsep": opt("bool", aliases=["privilege_separation"]),
        "regenerate": opt("bool", False),
        "renew_before": opt("str"),
        "expire_in": opt("str"),
        "allow_self_lockout": opt("bool", False),
    },
    "pve_permission_info": {
        "userid": opt("str"),
        "tokenid": opt("str"),
        "path": opt("str"),
        "require": opt("dict"),
    },
    "pve_access_info": {
        "kinds": opt("list", elements="str", choices=["users", "groups", "roles", "acl", "realms"]),
        "userids": opt("list", elements="str"),
        "realms": opt("list", elements="str"),
        "expiring_within": opt("str", "30d"),
        "fail_on": opt("list", elements="str"),
    },
}

# The key under which each module returns its resource (DESIGN.md).
RESOURCE_KEY = {
    "pve_user": "user",
    "pve_group": "group",
    "pve_role": "role",
    "pve_acl": "acl",
    "pve_token": "token",
    "pve_permission_info": "permissions",
    "pve_access_info": "findings",
}

failures: list[str] = []
passes = 0


def check(cond: bool, what: str) -> None:
    global passes
    if cond:
        passes += 1
    else:
        failures.append(what)


def text_of(desc) -> str:
    return " ".join(desc) if isinstance(desc, list) else str(desc or "")


def check_options(module: str, where: str, documented: dict, expected: dict) -> None:
    check(set(documented) == set(expected),
          f"{module}: {where}options {sorted(documented)} differ from the contract {sorted(expected)}")
    for name, exp in expected.items():
        doc = documented.get(name)
        if doc is None:
            continue
        label = f"{module}: option {where}{name}"
        check(doc.get("type", "str") == exp["type"], f"{label}: type {doc.get('type')!r}, contract {exp['type']!r}")
        check(doc.get("default") == exp["default"], f"{label}: default {doc.get('default')!r}, contract {exp['default']!r}")
        check(sorted(doc.get("aliases", [])) == exp["aliases"],
              f"{label}: aliases {doc.get('aliases')}, contract {exp['aliases']}")
        check(doc.get("choices") == exp["choices"], f"{label}: choices {doc.get('choices')}, contract {exp['choices']}")
        check(bool(doc.get("required", False)) == exp["required"], f"{label}: required is {doc.get('required', False)}")
        check(doc.get("elements") == exp["elements"], f"{label}: elements {doc.get('elements')!r}, contract {exp['elements']!r}")
        desc = text_of(doc.get("description"))
        check(bool(desc.strip()), f"{label}: no description")
        check(("no_log" in desc) == exp["no_log"],
              f"{label}: the description must say no_log exactly when the option is no_log ({exp['no_log']})")
        if exp["env"]:
            check(f"E({exp['env']})" in desc, f"{label}: the description does not name its env fallback {exp['env']}")
        if exp["suboptions"]:
            check_options(module, f"{name}.", doc.get("suboptions", {}), exp["suboptions"])


def task_keywords() -> set[str]:
    data = pkgutil.get_data("ansible", "keyword_desc.yml")
    return set(yaml.safe_load(data)) | {"local_action", "action"}


def module_keys(task: dict, keywords: set[str]) -> list[str]:
    return [k for k in task if k not in keywords and not k.startswith("with_")]


def check_examples(module: str, examples: str) -> None:
    try:
        data = yaml.safe_load(examples)
    except yaml.YAMLError as e:
        check(False, f"{module}: EXAMPLES do not parse: {e}")
        return
    check(isinstance(data, list) and bool(data), f"{module}: EXAMPLES are not a list of tasks")
    if not isinstance(data, list):
        return
    keywords = task_keywords()
    tasks: list[dict] = []
    for item in data:
        if isinstance(item, dict) and "hosts" in item:
            for section in ("pre_tasks", "tasks", "post_tasks", "handlers"):
                tasks.extend(item.get(section) or [])
        else:
            tasks.append(item)
    uses_module = False
    for task in tasks:
        check(isinstance(task, dict) and "name" in task, f"{module}: an EXAMPLES task has no name: {task!r}")
        if not isinstance(task, dict):
            continue
        keys = module_keys(task, keywords)
        check(len(keys) == 1, f"{module}: EXAMPLES task {task.get('name')!r} has module keys {keys}")
        for k in keys:
            check(k.count(".") >= 2, f"{module}: EXAMPLES task {task.get('name')!r} uses {k!r}, not a FQCN")
            uses_module |= k == f"pve.access.{module}"
    check(uses_module, f"{module}: EXAMPLES never use pve.access.{module}")


def check_module(module: str, entry: dict, collection_dir: str) -> None:
    doc = entry.get("doc") or {}
    check(doc.get("module") == module, f"{module}: DOCUMENTATION.module is {doc.get('module')!r}")
    for key in ("short_description", "description", "author", "version_added"):
        check(bool(doc.get(key)), f"{module}: DOCUMENTATION has no {key}")
    expected = dict(CONNECTION)
    expected.update(CONTRACT[module])
    check_options(module, "", doc.get("options") or {}, expected)

    attrs = doc.get("attributes") or {}
    for attr in ("check_mode", "diff_mode", "action_group"):
        check(attr in attrs and attrs[attr].get("support") in ("full", "partial", "none", "N/A"),
              f"{module}: attribute {attr} missing or without support")
    check(attrs.get("check_mode", {}).get("support") == "full", f"{module}: check_mode support is not full")
    info = module in ("pve_permission_info", "pve_access_info")
    want_diff = "N/A" if info else "full"
    check(attrs.get("diff_mode", {}).get("support") == want_diff, f"{module}: diff_mode support is not {want_diff}")
    check(attrs.get("action_group", {}).get("membership") == ["pve.access.pve"],
          f"{module}: action_group membership is not [pve.access.pve]")

    returns = entry.get("return") or {}
    for key in ("msg", RESOURCE_KEY[module]):
        check(key in returns and "returned" in returns[key] and "type" in returns[key],
              f"{module}: RETURN does not document {key} with returned and type")
    if module == "pve_token":
        for key in ("secret", "api_token"):
            check(key in returns, f"{module}: RETURN does not document {key}")
    if module == "pve_permission_info":
        check("missing" in returns, f"{module}: RETURN does not document missing")
    elif module == "pve_access_info":
        for key in ("checked", "users", "groups", "roles", "acl", "realms"):
            check(key in returns, f"{module}: RETURN does not document {key}")
    elif module != "pve_acl":
        check("diff" in returns, f"{module}: RETURN does not document diff")

    check_examples(module, entry.get("examples") or "")

    # As ansible-galaxy installed them: the documentation-only module
    # generated from the sidecar, its action plugin, the executable binary.
    base = os.path.join(collection_dir, "plugins", "modules", module)
    binary = os.path.join(collection_dir, "binaries", "linux-x86_64", module)
    check(os.path.isfile(binary) and os.access(binary, os.X_OK), f"{module}: {binary} is not an executable file")
    check(not os.path.exists(base), f"{module}: a binary in plugins/modules would shadow the action plugin's")
    check(not os.path.exists(base + ".yml"), f"{module}: the sidecar was shipped beside the generated {module}.py")
    check(os.path.isfile(os.path.join(collection_dir, "plugins", "action", module + ".py")),
          f"{module}: no action plugin plugins/action/{module}.py")
    from ansible.parsing.plugin_docs import read_docstring
    docs = read_docstring(base + ".py")
    check(all(docs.get(k) for k in ("doc", "plainexamples", "returndocs")),
          f"{module}: {module}.py lacks DOCUMENTATION, EXAMPLES or RETURN")


def check_schema(collections_path: str) -> str:
    """Validate with ansible-test's own validate-modules schema, where its
    Python dependencies (voluptuous, antsibull-docs-parser) are installed."""
    import ansible_test
    sanity = os.path.join(os.path.dirname(ansible_test.__file__), "_util", "controller", "sanity", "validate-modules")
    sys.path.insert(0, sanity)
    try:
        from validate_modules.schema import doc_schema, return_schema
    except ImportError as e:
        return f"skipped the validate-modules schema ({e.name} is not installed)"
    from ansible.plugins.loader import fragment_loader, init_plugin_loader
    from ansible.utils.plugin_docs import get_docstring

    init_plugin_loader([collections_path])
    base = os.path.join(collections_path, "ansible_collections", "pve", "access", "plugins", "modules")
    for m in MODULES:
        doc, _examples, returns, _meta = get_docstring(os.path.join(base, m + ".py"), fragment_loader,
                                                       collection_name="pve.access", is_module=True)
        for what, schema, value in (("DOCUMENTATION", doc_schema(m, for_collection=True), doc),
                                    ("RETURN", return_schema(for_collection=True), returns)):
            try:
                schema(value)
                check(True, "")
            except Exception as e:  # voluptuous.MultipleInvalid and friends
                check(False, f"{m}: {what} fails the validate-modules schema: {e}")
    return "validated with the validate-modules schema"


def main() -> int:
    collections_path = sys.argv[1]
    collection_dir = os.path.join(collections_path, "ansible_collections", "pve", "access")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path)
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    names = [f"pve.access.{m}" for m in MODULES]
    proc = subprocess.run([ansible_doc, "--json", *names], env=env, capture_output=True, text=True)
    check(proc.returncode == 0, f"ansible-doc --json failed: {proc.stderr.strip()}")
    data = json.loads(proc.stdout) if proc.returncode == 0 else {}
    for m in MODULES:
        entry = data.get(f"pve.access.{m}")
        check(entry is not None, f"{m}: ansible-doc --json has no entry")
        if entry:
            check_module(m, entry, collection_dir)
        # The text rendering is what users see; it must not fail on our markup.
        text = subprocess.run([ansible_doc, f"pve.access.{m}"], env=env, capture_output=True, text=True)
        check(text.returncode == 0 and "OPTIONS" in text.stdout and "EXAMPLES" in text.stdout
              and not text.stderr.strip(), f"{m}: ansible-doc text rendering failed: {text.stderr.strip()}")
        snippet = subprocess.run([ansible_doc, "-s", f"pve.access.{m}"], env=env, capture_output=True, text=True)
        check(snippet.returncode == 0 and f"  {m}:" in snippet.stdout,
              f"{m}: ansible-doc -s failed: {snippet.stderr.strip()}")
    note = check_schema(sys.argv[1])
    for f in failures:
        print(f"FAIL {f}")
    print(f"docs: {passes} checks passed, {len(failures)} failed; {note}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
