"""The search index of the real pipeline output, byte for byte as recorded: a refactoring of the
index code must not change a file the browser reads (tests/data/pipeline_index.sha256.json). The
manifest is compared without its format and settings (recorded at format 9, since Traditional characters
are folded as Simplified), and its settings by value.

Record again (only when a change to the files is intended, and say so in the commit):
    python tests/test_pipeline_index.py --record
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import kb, need_pipeline

from build_tools.analysis import TermCache
from build_tools.documents import search_docs
from build_tools.index import SETTINGS, SearchDoc, build_index
from build_tools.knowledge_base import build

pytestmark = pytest.mark.pipeline

RECORDED = Path(__file__).parent / "data" / "pipeline_index.sha256.json"
# The site's settings, and one small enough a corpus has stop words, many shards and coder batches.
VARIANTS = {
    "site": {},
    "stop_words": {"stop_min_documents": 100, "stop_keep": 50, "postings_per_shard": 20_000, "rice_batch": 4096},
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pipeline_docs(folder: Path) -> list[SearchDoc]:
    """../shared/pipeline imported with `kb import`, as its search documents."""
    kb("import", str(need_pipeline()), "--sources", str(folder))
    return search_docs(build(folder))


def built_files(docs: list[SearchDoc], overrides: dict) -> dict[str, bytes]:
    return build_index(docs, TermCache(None), replace(SETTINGS, **overrides)).files


def digests(files: dict[str, bytes]) -> dict:
    """Each file's sha256; the manifest's as its format, its settings and the sha256 of the rest."""
    manifest = json.loads(files["manifest.json"])
    rest = {key: value for key, value in manifest.items() if key not in ("format", "settings")}
    return {
        "files": {name: sha256(data) for name, data in sorted(files.items()) if name != "manifest.json"},
        "manifest": {
            "format": manifest["format"],
            "settings": manifest["settings"],
            "rest_sha256": sha256(json.dumps(rest, ensure_ascii=False, separators=(",", ":")).encode("utf-8")),
        },
    }


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> list[SearchDoc]:
    return pipeline_docs(tmp_path_factory.mktemp("pipeline") / "kb")


@pytest.mark.parametrize("variant", VARIANTS)
def test_index_files_are_as_recorded(docs, variant):
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))["variants"][variant]
    assert recorded["overrides"] == VARIANTS[variant]
    built = digests(built_files(docs, VARIANTS[variant]))
    assert built["files"] == recorded["files"]
    assert built["manifest"]["rest_sha256"] == recorded["manifest"]["rest_sha256"]
    settings = recorded["manifest"]["settings"]
    assert {name: built["manifest"]["settings"][name] for name in settings} == settings


def record() -> None:
    import subprocess
    import tempfile

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
    docs = pipeline_docs(Path(tempfile.mkdtemp(prefix="citekb-pipeline-index-")) / "kb")
    variants = {}
    for name, overrides in VARIANTS.items():
        files = built_files(docs, overrides)
        if built_files(docs, overrides) != files:
            raise SystemExit(f"{name}: two builds of the same documents differ: the index is not deterministic")
        variants[name] = {"overrides": overrides, **digests(files)}
    recorded = {
        "recorded": f"at commit {commit.stdout.strip()} by `python tests/test_pipeline_index.py --record`: "
        "../shared/pipeline imported with `kb import`, build_index over its search_docs with the overrides",
        "variants": variants,
    }
    RECORDED.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    record()
