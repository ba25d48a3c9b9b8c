"""The chunk lock: which text each (source, chunk number) held when it was last accepted.

A re-scraped page can shift its chunks; old citations would then silently point at other text.
The lock records every chunk's content hash so the build can name each chunk that moved.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCK_NAME = "chunks.lock"


@dataclass(frozen=True)
class Drift:
    slug: str
    chunk: int
    locked: str
    current: str | None  # None: the chunk no longer exists

    def __str__(self) -> str:
        now = f"now {self.current}" if self.current else "no longer exists"
        return (
            f"source {self.slug!r} chunk {self.chunk} changed since it was locked "
            f"({self.locked} → {now}); citations of it may now point at other text. "
            "Check the source, then run `kb lock` to accept it."
        )


def read_lock(path: Path) -> dict[str, list[str]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {slug: list(entry["chunks"]) for slug, entry in data.get("sources", {}).items()}


def find_drift(locked: dict[str, list[str]], current: dict[str, list[str]]) -> list[Drift]:
    """Chunks whose number is locked but whose text changed (or vanished); new ones are fine."""
    drift: list[Drift] = []
    for slug, old_ids in sorted(locked.items()):
        new_ids = current.get(slug)
        if new_ids is None:
            continue  # a source that was removed is not cited through a changed chunk
        for index, old in enumerate(old_ids):
            new = new_ids[index] if index < len(new_ids) else None
            if new != old:
                drift.append(Drift(slug, index, old, new))
    return drift


def write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so no reader ever sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_lock(path: Path, current: dict[str, list[str]], titles: dict[str, str]) -> None:
    entries = {slug: {"title": titles.get(slug, ""), "chunks": ids} for slug, ids in sorted(current.items())}
    text = json.dumps({"version": 1, "sources": entries}, ensure_ascii=False, indent=1) + "\n"
    write_atomic(path, text.encode("utf-8"))
