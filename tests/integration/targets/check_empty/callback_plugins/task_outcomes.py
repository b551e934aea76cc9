# Records the outcome of every task as one JSON line in the file named by
# TASK_OUTCOMES_FILE, so that a check-mode run and the real run that
# follows can be compared task by task.
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_outcomes
type: aggregate
short_description: one JSON line per task result
description:
  - "Appends task, action, status, changed and warnings of every task result as one JSON line
    to the file named by the environment variable TASK_OUTCOMES_FILE. Secrets never reach it:
    a no_log result is already censored, and only these keys are written."
requirements:
  - TASK_OUTCOMES_FILE set
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_outcomes"
    CALLBACK_NEEDS_ENABLED = True

    def _record(self, result, status):
        path = os.environ.get("TASK_OUTCOMES_FILE")
        if not path:
            return
        res = result._result
        line = {
            "task": result._task.get_name(),
            "action": result._task.action,
            "status": status,
            "changed": bool(res.get("changed", False)),
            "warnings": [str(w) for w in res.get("warnings", []) or []],
        }
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    def v2_runner_on_ok(self, result):
        self._record(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._record(result, "skipped")
