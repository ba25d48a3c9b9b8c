"""Evidence benchmark (issue 27): the audit's verdicts against blind readers.

A case is one distinct (claim, cited passage) pair of a knowledge base's reports: each resolved
long_context citation of a final or original report, its claim as the audit reads it
(`Sentences.claim`) and the text of the chunk it cites. Readers judge a case seeing only those two
texts, on a four-level scale: `states` (the passage states the claim's key facts), `partial` (some
of them), `topic` (on the topic, not the facts), `unrelated`.

    .venv/bin/kb import ../shared/pipeline --sources /tmp/kb
    .venv/bin/python -m benchmarks.evidence_bench export /tmp/kb /tmp/cases.jsonl   # for the readers; never committed

`export` writes one JSON line per case, shuffled with a fixed seed: `key` (report slug, section,
the citation's offset and chunk: `slug@final@1234#5`, no text), `claim`, `passage`. The readers'
verdicts go into `evidence_judged.json` beside this file, by key, with no pipeline text.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from build_tools.knowledge_base import KnowledgeBase, Sentences, build

SEED = 27
SCALE = ("states", "partial", "topic", "unrelated")


@dataclass(frozen=True)
class Case:
    """One claim and the passage its citation cites, keyed without text."""

    key: str
    claim: str
    passage: str


def cases(kb: KnowledgeBase) -> list[Case]:
    """Every distinct (claim, passage) pair of resolved long_context citations, first occurrence
    keyed, in report order: final texts before originals."""
    seen: set[tuple[str, str]] = set()
    found = []
    for case in _all_cases(kb):
        if case.claim.strip() and (case.claim, case.passage) not in seen:
            seen.add((case.claim, case.passage))
            found.append(case)
    return found


def _all_cases(kb: KnowledgeBase) -> Iterator[Case]:
    for slug, cited in sorted(kb.cited.items()):
        report = cited.report
        for section, items, text in (
            ("final", cited.final, report.final),
            ("original", cited.original, report.original),
        ):
            if not text:
                continue
            sentences = Sentences(text, items)
            for item in items:
                citation = item.citation
                if item.status != "resolved" or citation.kind != "long_context" or citation.chunk is None:
                    continue
                passage = kb.chunks[item.source_slug][citation.chunk].text
                claim = sentences.claim(citation.start, citation.end)
                yield Case(f"{slug}@{section}@{citation.start}#{citation.chunk}", claim, passage)


def export(kb_folder: Path, out: Path) -> int:
    found = cases(build(kb_folder))
    random.Random(SEED).shuffle(found)
    with out.open("w", encoding="utf-8") as file:
        for case in found:
            file.write(json.dumps({"key": case.key, "claim": case.claim, "passage": case.passage}, ensure_ascii=False))
            file.write("\n")
    print(f"{len(found)} cases written to {out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    exporting = commands.add_parser("export", help="the cases, for blind readers (claim and passage only)")
    exporting.add_argument("kb", type=Path)
    exporting.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    return export(args.kb, args.out)


if __name__ == "__main__":
    sys.exit(main())
