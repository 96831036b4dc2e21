"""The audit log of supervisor actions: who did what to which call, when, and how it ended.

One JSON line per entry, appended and flushed at once. A disk problem is logged and counted,
never raised: auditing must not take a call down.
"""

from __future__ import annotations

import datetime
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: entries go to the log only
        self.failures = 0

    def write(self, who: str | None, action: str | None, call_id: str | None, outcome: str,
              **detail: Any) -> dict[str, Any]:
        entry = {"at": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
                 "who": who, "action": action, "call_id": call_id, "outcome": outcome,
                 **detail}
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        log.info("audit %s", line)
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(line + "\n")
            except OSError as exc:
                self.failures += 1
                log.error("could not write the audit log %s (%d failures so far): %s",
                          self.path, self.failures, exc)
        return entry

    def entries(self) -> list[dict[str, Any]]:
        if self.path is None or not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
