"""Serves the knowledge base to calls and reloads it when operators edit the YAML files.

Releases are edits of `release.yaml`, picked up by `watch` while calls go on:
- gray release: add `candidate: v2` and `candidate_share: 0.1` (a tenth of new calls get v2);
- promotion: set `stable: v2` and remove the candidate lines;
- rollback: remove the candidate lines, or set `candidate_share: 0`.
A call keeps the snapshot it got at its start; an edit with errors is logged and changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from voicebot.knowledge import DEFAULT_SLOTS, KnowledgeBase, KnowledgeBaseError
from voicebot.knowledge_loader import Release, load_release

log = logging.getLogger("voicebot.knowledge")


class KnowledgeStore:
    """The release being served; `reload` swaps it whole, or not at all."""

    def __init__(self, root: Path, known_slots: Sequence[str] = DEFAULT_SLOTS) -> None:
        self.root = Path(root)
        self._known_slots = tuple(known_slots)
        self._reload_lock = threading.Lock()
        self._release = load_release(self.root, self._known_slots)  # a broken KB stops startup
        _log_serving(self.root, self._release)

    @property
    def release(self) -> Release:
        return self._release

    def for_call(self, call_id: str) -> KnowledgeBase:
        """The snapshot a new call is served from: the same one each time for a call id."""
        release = self._release  # read once: a concurrent reload cannot mix two releases
        if release.candidate is not None and _share_point(call_id) < release.candidate_share:
            return release.candidate
        return release.stable

    def reload(self) -> list[str]:
        """Reads the folder again; on errors keeps serving what it had and returns them."""
        with self._reload_lock:
            try:
                release = load_release(self.root, self._known_slots)
            except KnowledgeBaseError as exc:
                errors = exc.errors
            except Exception as exc:  # a live hotline must outlive any bad edit
                log.exception("knowledge base %s: reload failed", self.root)
                errors = [f"{self.root}: reload failed: {exc!r}"]
            else:
                self._release = release  # one reference swap: readers need no lock
                _log_serving(self.root, release)
                return []
        log.error("knowledge base %s not reloaded, still serving %s:\n%s",
                  self.root, _describe(self._release), "\n".join(errors))
        return errors


async def watch(store: KnowledgeStore, *, interval_s: float = 1.0) -> None:
    """Reloads the store whenever a YAML file under its folder changes; runs until cancelled."""
    seen = _fingerprint(store.root)
    while True:
        await asyncio.sleep(interval_s)
        current = _fingerprint(store.root)
        if current != seen:
            seen = current
            # Off the loop: parsing takes milliseconds that live audio should not wait for.
            await asyncio.to_thread(store.reload)


def _fingerprint(root: Path) -> dict[str, tuple[int, int]]:
    files: dict[str, tuple[int, int]] = {}
    for path in root.rglob("*.yaml"):
        try:
            stat = path.stat()
        except OSError:  # removed between listing and stat: the next poll sees it gone
            continue
        files[str(path.relative_to(root))] = (stat.st_mtime_ns, stat.st_size)
    return files


def _share_point(call_id: str) -> float:
    """A fixed point in [0, 1) per call id; not `hash()`, which changes between processes."""
    digest = hashlib.blake2b(call_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _describe(release: Release) -> str:
    if release.candidate is None:
        return f"stable {release.stable.version}"
    return (f"stable {release.stable.version}, candidate {release.candidate.version} "
            f"for {release.candidate_share:.0%} of new calls")


def _log_serving(root: Path, release: Release) -> None:
    log.info("knowledge base %s: serving %s", root, _describe(release))
