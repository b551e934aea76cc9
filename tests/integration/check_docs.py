#!/usr/bin/env python3
"""Checks the installed collection's module docs against the module binaries.

`ansible-test sanity --test validate-modules` compares each module's docs
with the argument spec of its plugins/modules/<m>.py (run.sh runs it where
it can); this does it for what that misses, on the collection as installed:
every module of modules/ (the list) is in the collection with its binary,
its generated plugins/modules/<m>.py, its action plugin and its place in
the action group; its docs (the sidecar .yml with the doc fragments merged,
as ansible-doc renders them) say exactly what the binary's own spec
(`<m> --print-spec`) says, option by option (spec_docs.py); they declare
check/diff mode attributes and the action group, document their returns,
and have EXAMPLES that parse and use fully qualified names; ansible-doc
renders them as text and as a snippet.

Usage: check_docs.py COLLECTIONS_PATH   (prints one line per failed check and a
summary; exit 1 on failure)
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

import yaml

import spec_docs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The list of modules: one crate per module in modules/.
MODULES = sorted(os.listdir(os.path.join(ROOT, "modules")))

failures: list[str] = []
passes = 0


def check(cond: bool, what: str) -> None:
    global passes
    if cond:
        passes += 1
    else:
        failures.append(what)


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


def record(found: list[str]) -> None:
    """Many checks at once: each message found is a failure; none is one pass."""
    global passes
    failures.extend(found)
    passes += not found


def printed_spec(binary: str) -> dict | None:
    proc = subprocess.run([binary, "--print-spec"], capture_output=True, text=True)
    try:
        return json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        return None


def check_module(module: str, entry: dict, collection_dir: str) -> None:
    doc = entry.get("doc") or {}
    check(doc.get("module") == module, f"{module}: DOCUMENTATION.module is {doc.get('module')!r}")
    for key in ("short_description", "description", "author", "version_added"):
        check(bool(doc.get(key)), f"{module}: DOCUMENTATION has no {key}")
    binary = os.path.join(collection_dir, "binaries", "linux-x86_64", module)
    spec = printed_spec(binary)
    check(spec is not None, f"{module}: {binary} --print-spec printed no spec")
    if spec is not None:
        record(spec_docs.differences(module, doc.get("options") or {}, spec))

    attrs = doc.get("attributes") or {}
    for attr in ("check_mode", "diff_mode", "action_group"):
        check(attr in attrs and attrs[attr].get("support") in ("full", "partial", "none", "N/A"),
              f"{module}: attribute {attr} missing or without support")
    check(attrs.get("check_mode", {}).get("support") == "full", f"{module}: check_mode support is not full")
    # An _info module changes nothing: there is no diff to show.
    info = module.endswith("_info")
    want_diff = "N/A" if info else "full"
    check(attrs.get("diff_mode", {}).get("support") == want_diff, f"{module}: diff_mode support is not {want_diff}")
    check(attrs.get("action_group", {}).get("membership") == ["pve.access.pve"],
          f"{module}: action_group membership is not [pve.access.pve]")

    returns = entry.get("return") or {}
    check("msg" in returns, f"{module}: RETURN does not document msg")
    for key, value in returns.items():
        check("returned" in value and "type" in value, f"{module}: RETURN {key} has no returned or type")
    if module == "pve_token":
        for key in ("secret", "api_token"):
            check(key in returns, f"{module}: RETURN does not document {key}")
    if module == "pve_permission_info":
        check("missing" in returns, f"{module}: RETURN does not document missing")
    if module == "pve_access_info":
        for key in ("checked", "users", "groups", "roles", "acl", "realms"):
            check(key in returns, f"{module}: RETURN does not document {key}")
    if not info:
        check("diff" in returns, f"{module}: RETURN does not document diff")

    check_examples(module, entry.get("examples") or "")

    # As ansible-galaxy installed them: the documentation-only module
    # generated from the sidecar, its action plugin, the executable binary.
    base = os.path.join(collection_dir, "plugins", "modules", module)
    check(os.path.isfile(binary) and os.access(binary, os.X_OK), f"{module}: {binary} is not an executable file")
    check(not os.path.exists(base), f"{module}: a binary in plugins/modules would shadow the action plugin's")
    check(not os.path.exists(base + ".yml"), f"{module}: the sidecar was shipped beside the generated {module}.py")
    check(os.path.isfile(os.path.join(collection_dir, "plugins", "action", module + ".py")),
          f"{module}: no action plugin plugins/action/{module}.py")
    from ansible.parsing.plugin_docs import read_docstring
    docs = read_docstring(base + ".py")
    check(all(docs.get(k) for k in ("doc", "plainexamples", "returndocs")),
          f"{module}: {module}.py lacks DOCUMENTATION, EXAMPLES or RETURN")


def check_module_list(collection_dir: str) -> None:
    """The collection has exactly the modules of modules/, each in every place."""
    def names(*parts: str, ext: str = "") -> list[str]:
        path = os.path.join(collection_dir, *parts)
        files = os.listdir(path) if os.path.isdir(path) else []
        return sorted(f[:len(f) - len(ext)] for f in files if f.endswith(ext) and f != "__init__.py")

    for what, got in (("binaries/linux-x86_64", names("binaries", "linux-x86_64")),
                      ("binaries/linux-aarch64", names("binaries", "linux-aarch64")),
                      ("plugins/modules", names("plugins", "modules", ext=".py")),
                      ("plugins/action", names("plugins", "action", ext=".py"))):
        check(got == MODULES, f"the collection's {what} has {got}, modules/ has {MODULES}")
    runtime = yaml.safe_load(open(os.path.join(collection_dir, "meta", "runtime.yml"), encoding="utf-8"))
    group = sorted((runtime.get("action_groups") or {}).get("pve") or [])
    check(group == MODULES, f"meta/runtime.yml's action group pve has {group}, modules/ has {MODULES}")


def main() -> int:
    collections_path = sys.argv[1]
    collection_dir = os.path.join(collections_path, "ansible_collections", "pve", "access")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path)
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    names = [f"pve.access.{m}" for m in MODULES]
    check_module_list(collection_dir)
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
    return spec_docs.report("docs", passes, failures)


if __name__ == "__main__":
    sys.exit(main())
