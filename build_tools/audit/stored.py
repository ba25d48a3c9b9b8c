"""The audits one build keeps for the next (`Kept`, in a sealed file): a build redoes only the audits
of the reports whose text or corpus changed, as `mkdocs serve` does between rebuilds. At 10,000
sources the audit was a fifth of a warm rebuild's CPU.

The file holds digests and audits only (JSON, no code): one made by another Citekb, with other
settings, cut or changed, is not used (`load` gives nothing), never trusted in part.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..lock import Damaged, seal, unseal, write_atomic
from ..models import Audit
from ..reading import MAX_TEXT, read_file
from .settings import AuditSettings
from .workers import Kept

KIND, FORMAT = b"ckbaudit", 1
FOLDER = ".cache/citekb/audits"  # beside mkdocs.yml: one file per knowledge-base folder
KEPT_FOLDERS = 8  # the knowledge-base folders whose audits are kept, those built last
_CODE = Path(__file__).parents[1]  # build_tools: any change in it may change an audit


def code_key(settings: AuditSettings) -> str:
    """What else an audit is made from: the code that makes it and its settings."""
    made = hashlib.sha256(repr(settings).encode("utf-8"))
    for path in sorted(_CODE.rglob("*.py")):
        made.update(path.read_bytes())
    return made.hexdigest()


def kept_file(config_dir: Path, root: Path) -> Path:
    """Where the audits of one knowledge-base folder are kept, beside the mkdocs.yml in `config_dir`."""
    return config_dir / FOLDER / f"{hashlib.sha1(str(root.resolve()).encode('utf-8')).hexdigest()[:12]}.sealed"


def save(kept: Kept, path: Path, key: str) -> None:
    """Raises OSError where the file cannot be written (the caller says so; a build goes on)."""
    reports = {
        slug: [text, [None if a is None else vars(a) for a in audits]]  # its fields (asdict: 4× as long)
        for slug, (text, audits) in kept.reports.items()
    }
    payload = json.dumps({"key": key, "corpora": kept.corpora, "reports": reports}, ensure_ascii=False)
    write_atomic(path, seal(KIND, FORMAT, payload.encode("utf-8")))
    kept_files = sorted(path.parent.glob("*.sealed"), key=_modified, reverse=True)
    for old in kept_files[KEPT_FOLDERS:]:  # the folders built longest ago: bounded, like the page outputs
        old.unlink(missing_ok=True)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def load(path: Path, key: str) -> Kept:
    """The audits `save` kept under the same `key`; nothing (an empty Kept) when there are none, or
    the file is no regular file, not whole, not of this kind, or from other code or settings."""
    try:
        sealed = read_file(path, MAX_TEXT)  # none from a pipe, whose reader would wait for ever
        if sealed is None or len(sealed) > MAX_TEXT:
            return Kept()
        data = json.loads(bytes(unseal(KIND, FORMAT, sealed)).decode("utf-8"))
        if data["key"] != key:
            return Kept()
        corpora = {str(k): str(v) for k, v in data["corpora"].items()}
        reports = {
            str(slug): (str(text), [None if a is None else _audit(a) for a in audits])
            for slug, (text, audits) in data["reports"].items()
        }
    except (OSError, Damaged, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return Kept()
    return Kept(corpora, reports)


def _audit(fields: dict) -> Audit:
    """An Audit from its fields as `save` wrote them (JSON's lists back to tuples)."""

    def pair(value: list | None) -> tuple | None:
        return None if value is None else tuple(value)

    return Audit(
        status=fields["status"],
        support=fields["support"],
        claim=fields["claim"],
        span=pair(fields["span"]),
        missing=tuple(fields["missing"]),
        better=pair(fields["better"]),
        better_span=pair(fields["better_span"]),
        better_terms=tuple(fields["better_terms"]),
        verdict=fields["verdict"],
        held=tuple(fields["held"]),
        part=fields["part"],
    )
