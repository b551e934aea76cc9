"""Compares the task outcomes (task_outcomes callback) of a --check run and
the real run that followed, for the pve.access tasks: the same tasks, each
with the same `changed`, none failed. Prints each difference; exit 1 on any.

Usage: compare.py CHECK.jsonl REAL.jsonl
"""
import json
import sys


def outcomes(path):
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r["action"].startswith("pve.access.")]


check, real = (outcomes(p) for p in sys.argv[1:3])
problems = []
if not check:
    problems.append("no pve.access task ran in check mode")
for r in check + real:
    if r["status"] == "failed":
        problems.append(f"task {r['task']!r} failed")
if [r["task"] for r in check] != [r["task"] for r in real]:
    problems.append(f"other tasks: check {[r['task'] for r in check]} real {[r['task'] for r in real]}")
for c, r in zip(check, real):
    if c["changed"] != r["changed"]:
        problems.append(f"task {c['task']!r}: check mode predicted changed={c['changed']}, the real run changed={r['changed']}")
for p in problems:
    print(p)
print(f"{len(check)} tasks compared, {len(problems)} differences")
sys.exit(1 if problems else 0)
