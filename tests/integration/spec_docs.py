"""Compares a module's documented options with the spec its binary prints.

The binary's spec (`MODULE --print-spec`, the `argument_spec` and relations
that `AnsibleModule` would get) is what the module really accepts; the docs
(the sidecar collection/plugins/modules/<m>.yml with the doc fragments
merged, as ansible-doc renders them) must say the same: option names,
type, required, default, choices, aliases, elements and suboptions as
fields, and in each option's description what the doc format has no field
for: `no_log` (the word), each env fallback (`E(VAR)`) and each relation
(`mutually exclusive with O(other)`, `together with O(other)`, `one of` /
`required unless` with `O(other)`).

`differences(module, documented_options, printed_spec)` returns one message
per disagreement, each naming the module and the option; empty means they
agree. Used by check_docs.py, and tested by spec_docs_test.py (both print
with `report`).
"""

from __future__ import annotations

import re

# The words a description uses for each relation of the spec.
RELATIONS = {
    "mutually_exclusive": ("mutually exclusive",),
    "required_together": ("together",),
    "required_one_of": ("one of", "required unless"),
}


def report(label: str, passed: int, failures: list[str]) -> int:
    """Prints the failures and a summary line; the exit code."""
    for f in failures:
        print(f"FAIL {f}")
    print(f"{label}: {passed} checks passed, {len(failures)} failed")
    return 1 if failures else 0


def text_of(desc) -> str:
    return " ".join(desc) if isinstance(desc, list) else str(desc or "")


def choices_of(choices) -> list | None:
    # A doc may give choices as a mapping of each choice to its description.
    if isinstance(choices, dict):
        return sorted(choices)
    return sorted(choices) if choices is not None else None


def mentions(desc: str, name: str, where: str) -> bool:
    """`O(name)`, `O(name=...)`, or for a suboption `O(parent[].name)` / `O(parent.name)`."""
    parent = re.escape(where.rstrip(".")) if where else None
    prefix = rf"(?:{parent}(?:\[\])?\.)?" if parent else ""
    return re.search(rf"O\({prefix}{re.escape(name)}(?:=[^)]*)?\)", desc) is not None


def differences(module: str, documented: dict, printed: dict, where: str = "") -> list[str]:
    """`printed` is one level of the printed spec: `argument_spec` (or a dict
    option's `options`) under "argument_spec", its relations beside it."""
    spec = printed["argument_spec"]
    found: list[str] = []
    sidecar = f"collection/plugins/modules/{module}.yml"
    for name in sorted(set(spec) - set(documented)):
        found.append(f"{module}: option {where}{name} is in the binary's spec but not documented "
                     f"(document it in {sidecar} or a doc fragment)")
    for name in sorted(set(documented) - set(spec)):
        found.append(f"{module}: option {where}{name} is documented but the binary has no such option "
                     f"(remove it from {sidecar}, or add it to the spec in modules/{module}/src/main.rs)")
    for name in sorted(set(spec) & set(documented)):
        found += option_differences(module, f"{where}{name}", documented[name], spec[name])
    for relation, groups in printed.items():
        if relation == "argument_spec":
            continue
        words = RELATIONS[relation]
        for group in groups:
            for name in group:
                desc = text_of((documented.get(name) or {}).get("description"))
                others = [o for o in group if o != name]
                if not (any(w in desc.lower() for w in words) and all(mentions(desc, o, where) for o in others)):
                    found.append(f"{module}: option {where}{name}: the spec has {relation} {group}, and the "
                                 f"description does not say so (with '{words[0]}' and "
                                 f"{', '.join(f'O({o})' for o in others)})")
    return found


def option_differences(module: str, label: str, doc: dict, opt: dict) -> list[str]:
    found: list[str] = []

    def field(what: str, documented, printed) -> None:
        if documented != printed:
            found.append(f"{module}: option {label}: documented {what} {documented!r}, "
                         f"the binary's spec says {printed!r}")

    field("type", doc.get("type", "str"), opt["type"])
    field("required", bool(doc.get("required", False)), bool(opt.get("required", False)))
    field("default", doc.get("default"), opt.get("default"))
    field("choices", choices_of(doc.get("choices")), choices_of(opt.get("choices")))
    field("aliases", sorted(doc.get("aliases") or []), sorted(opt.get("aliases") or []))
    field("elements", doc.get("elements"), opt.get("elements"))
    desc = text_of(doc.get("description"))
    if not desc.strip():
        found.append(f"{module}: option {label} has no description")
    no_log = bool(opt.get("no_log", False))
    if ("no_log" in desc) != no_log:
        found.append(f"{module}: option {label}: the spec has no_log={no_log}; the description must say "
                     f"'no_log' exactly when the option is no_log")
    fallback = opt.get("fallback")
    for var in (fallback[1] if fallback else []):
        if f"E({var})" not in desc:
            found.append(f"{module}: option {label}: the description does not name its env fallback E({var})")
    if "options" in opt or doc.get("suboptions"):
        sub = {k: v for k, v in opt.items() if k in RELATIONS}
        sub["argument_spec"] = opt.get("options") or {}
        found += differences(module, doc.get("suboptions") or {}, sub, f"{label}.")
    return found
