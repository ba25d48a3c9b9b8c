"""Citation audit benchmark (issue 15): ground truth by perturbing real reports.

Each resolved single-chunk long_context citation of a final report is kept as written (positive)
and moved twice (negatives), as the issue states: to the adjacent chunk of the same source (N+1,
else N-1), whole, the 200 characters it shares with chunk N included; and to a chunk of another
source of the report's corpus. Also measured: the adjacent chunk without that overlap (a claim
supported there is supported by both chunks), to show what the overlap costs.

Positives are labelled, because the writer's citation is the only ground truth and it is not
always a claim about the chunk: `claimless` (a reference-list entry that is only the citation) and
`title_only` (the chunk is the document's title alone: the audit says so as a fact) are left out of
the AUCs; `reference` (a described entry of a reference list), `table` (a table cell), `shared` (a
claim backed by citations of two or more sources, each holding a part at best) and `plain` (one
claim, one source) are kept and reported apart.

It prints the ROC AUC of `support` for positive vs adjacent and positive vs other-source (all
checkable positives, and per label), the share of written citations the audit does not call
`supported` (every other status is a flag on the site; over the checkable ones, and over all
written ones as the issue counts), the same for the plain baseline (the idf-weighted share of the
citing sentence's jieba terms found in the chunk, flagged below 0.2), and the audit's own time
over the whole knowledge base (segmentation cold, then cached as in a rebuild). The positives a
blind reader judged (`audit_judged.json`: which of the cited and the adjacent chunk states the
claim) are also split by that verdict (`judged`), which tells the audit's misses from the writers'.

    .venv/bin/kb import ../shared/pipeline --sources /tmp/kb
    .venv/bin/python benchmarks/audit_bench.py /tmp/kb [--set weak=0.3] [--json] [--sample 20] [--judged FILE]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from build_tools import audit
from build_tools.analysis import TermCache, fold, tokenize
from build_tools.knowledge_base import KnowledgeBase, Sentences, build
from build_tools.models import Audit, Resolved

BASELINE_THRESHOLD = 0.2
WON = {"win": 1.0, "tie": 0.5, "loss": 0.0}  # a pair's share of a win, as in the AUC
JUDGED_FILE = Path(__file__).with_name("audit_judged.json")
LABELS = ("plain", "shared", "table", "reference")
NEGATIVES = ("adjacent", "beyond_overlap", "other")
_REFERENCE_HEADING = re.compile(r"参考|引用|来源|资料|文献|出处|references?|sources", re.IGNORECASE)
_LIST_ITEM = re.compile(r"\s*(?:[-*+]|\d+[.)、])\s")
_HEADING = re.compile(r"#{1,6}\s|\*\*[^*]+\*\*\s*$|[（(]?\d{1,2}[)）.、]?\s*\S{1,20}\s*$")


def roc_auc(positives: list[float], negatives: list[float]) -> float | None:
    """P(a positive scores above a negative), ties counting half (Mann–Whitney U)."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return round(wins / (len(positives) * len(negatives)), 3)


def aucs(selected: list[dict], key: str) -> dict:
    """The AUCs of score `key` ("support" or "plain") of the positives against each kind of negative."""
    scores = {name: [c[key][name] for c in selected] for name in ("positive", *NEGATIVES)}
    return {
        "auc_adjacent": roc_auc(scores["positive"], scores["adjacent"]),
        "auc_other_source": roc_auc(scores["positive"], scores["other"]),
        "auc_adjacent_beyond_overlap": roc_auc(scores["positive"], scores["beyond_overlap"]),
        "positives": len(selected),
    }


def baseline(sentence: str, text: str, terms: audit.CorpusTerms) -> float:
    words = list(dict.fromkeys(tokenize(sentence)))
    weights = terms.weights(words)
    total = sum(weights.values())
    folded = fold(text)
    return sum(w for t, w in weights.items() if t in folded) / total if total else 0.0


def moved(item: Resolved, chunk: int, slug: str) -> Resolved:
    return replace(item, citation=replace(item.citation, chunk=chunk), source_slug=slug)


def beyond_overlap(kb: KnowledgeBase, slug: str, cited: int, adjacent: int) -> str:
    """The adjacent chunk's text without the part it shares with the cited chunk."""
    near, far = kb.chunks[slug][cited], kb.chunks[slug][adjacent]
    if adjacent > cited:
        return far.text[max(0, near.end - far.start) :]
    return far.text[: len(far.text) - max(0, far.end - near.start)]


def label(text: str, item: Resolved, claim: str, sources: int, title_only: bool) -> str:
    """What kind of positive a written citation is (module docstring)."""
    if not claim:
        return "claimless"
    if title_only:
        return "title_only"
    start = text.rfind("\n", 0, item.citation.start) + 1
    end = text.find("\n", item.citation.start)
    line = text[start : end if end >= 0 else len(text)]
    if line.lstrip().startswith("|"):
        return "table"
    if _LIST_ITEM.match(line):
        above = [row for row in text[:start].splitlines() if row.strip() and not _LIST_ITEM.match(row)]
        if above and _HEADING.match(above[-1].strip()) and _REFERENCE_HEADING.search(above[-1]):
            return "reference"
    return "shared" if sources > 1 else "plain"


def run(
    root: Path, settings: audit.AuditSettings, seed: int = 0, sample: int = 0, judged: dict[str, str] | None = None
) -> dict:
    kb = build(root)
    started = time.perf_counter()
    cache = TermCache(None)
    audits = audit.audit_kb(kb, cache, settings)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    audit.audit_kb(kb, cache, settings)
    warm = time.perf_counter() - started

    rng = random.Random(seed)
    cases: list[dict] = []
    analyses = audit.chunk_analyses(kb, set(kb.chunks), cache)
    chunks = audit.Chunks(kb)
    for slug, cited in sorted(kb.cited.items()):
        corpus = kb.loaded.corpora.get(cited.report.corpus or "")
        if corpus is None or slug not in audits:
            continue
        slugs = [s for s in corpus.slugs if s]
        sentences = Sentences(cited.report.final, (i.citation for i in cited.final))
        claims = audit.report_claims(cited.report.final, cited.final)
        around = [sentences.around(i.citation.start, i.citation.end) for i in cited.final]
        words = {w for c in claims + around if c for w in list(audit.claim_words(fold(c))) + tokenize(c)}
        terms = audit.corpus_terms(slugs, kb, analyses, words)
        per_span = Counter((i.citation.start, i.citation.end) for i in cited.final if i.citation.kind == "long_context")
        sources_of: dict[str, set[str]] = {}
        for item, claim in zip(cited.final, claims):
            if item.citation.kind == "long_context" and audit.auditable(item, kb):
                sources_of.setdefault(claim, set()).add(item.source_slug or "")
        for item, claim, sentence, written in zip(cited.final, claims, around, audits[slug]):
            if written is None or per_span[item.citation.start, item.citation.end] != 1:
                continue
            source, number = item.source_slug or "", item.citation.chunk or 0
            count = len(kb.chunks[source])
            others = [s for s in slugs if s != source and kb.chunks.get(s)]
            if count < 2 or not others:
                continue
            kind = label(
                cited.report.final, item, claim, len(sources_of.get(claim, ())), written.status == "title_only"
            )
            case = {
                "label": kind,
                "written": written,
                "claim": claim,
                "item": item,
                "key": f"{slug}@{item.citation.start}",
            }
            cases.append(case)
            if kind not in LABELS:
                continue
            adjacent = number + 1 if number + 1 < count else number - 1
            other = rng.choice(others)
            other_chunk = rng.randrange(len(kb.chunks[other]))
            apart = beyond_overlap(kb, source, number, adjacent)
            view = audit.Chunks(kb)  # the adjacent chunk as its part beyond the overlap
            view.done = {**chunks.done, (source, adjacent): audit.folded_chunk(apart)}
            negatives = {
                "adjacent": (moved(item, adjacent, source), kb.chunks[source][adjacent].text, chunks),
                "beyond_overlap": (moved(item, adjacent, source), apart, view),
                "other": (moved(item, other_chunk, other), kb.chunks[other][other_chunk].text, chunks),
            }
            case["support"] = {"positive": written.support}
            case["plain"] = {"positive": baseline(sentence, kb.chunks[source][number].text, terms)}
            for name, (moved_item, text, folded) in negatives.items():
                case["support"][name] = audit.audit_citation(moved_item, claim, kb, terms, folded, settings).support
                case["plain"][name] = baseline(sentence, text, terms)

    checkable = [c for c in cases if c["label"] in LABELS]
    statuses = Counter(c["written"].status for c in checkable)
    written = Counter(c["written"].status for c in cases)
    all_audits = [a for rows in audits.values() for a in rows if a]
    result = {
        "positives": dict(Counter(c["label"] for c in cases)),
        "audit": {
            **aucs(checkable, "support"),
            "not_supported": round(1 - statuses["supported"] / len(checkable), 3),
            "not_supported_written": round(1 - written["supported"] / len(cases), 3),
            "paired": paired(checkable, NEGATIVES),
            "written_best": sum(c["support"]["positive"] >= 1 for c in checkable),  # no compared chunk beats it
            "positives_without_support": round(
                sum(c["support"]["positive"] == 0 for c in checkable) / len(checkable), 3
            ),
            "statuses": dict(statuses),
            "statuses_written": dict(written),
            "by_label": {kind: aucs([c for c in checkable if c["label"] == kind], "support") for kind in LABELS},
            "plain_and_shared": aucs([c for c in checkable if c["label"] in ("plain", "shared")], "support"),
        },
        "baseline": {
            **aucs(checkable, "plain"),
            "flagged": round(sum(c["plain"]["positive"] < BASELINE_THRESHOLD for c in checkable) / len(checkable), 3),
            "plain_only": aucs([c for c in checkable if c["label"] == "plain"], "plain"),
        },
        "cost": {
            "audited_citations": len(all_audits),
            "reports": len(audits),
            "chunks": sum(map(len, kb.chunks.values())),
            "seconds_cold": round(cold, 3),
            "seconds_warm": round(warm, 3),
            "ms_per_citation_warm": round(1000 * warm / max(1, len(all_audits)), 3),
        },
        "settings": dataclasses.asdict(settings),
    }
    if judged:
        result["judged"] = against_judgment(checkable, judged)
    if sample:
        result["sample"] = [sample_row(kb, c) for c in rng.sample(checkable, min(sample, len(checkable)))]
    return result


def against_judgment(checkable: list[dict], judged: dict[str, str]) -> dict:
    """The paired outcomes (written chunk vs its adjacent chunk, vs another source) split by which of
    the written and the adjacent chunk a blind reader found to state the claim (JUDGED_FILE), and
    the share of pairs a measure ranking as that reader does would win (ties where the reader found
    both chunks or neither state the claim): what the writers' own errors leave to win."""
    rows = [(judged[c["key"]], c) for c in checkable if c["key"] in judged]
    if not rows:
        return {"cases": 0}
    found = Counter(verdict for verdict, _ in rows)
    return {
        "cases": len(rows),
        "judged": dict(found),
        "aucs_judged_written": aucs([c for verdict, c in rows if verdict == "written"], "support"),
        "paired": {verdict: paired([c for v, c in rows if v == verdict], ("adjacent", "other")) for verdict in found},
        "paired_share_adjacent": round(
            sum(WON[_outcome(c["support"]["positive"], c["support"]["adjacent"])] for _, c in rows) / len(rows), 3
        ),
        "paired_share_agreeing_reader": round(
            (found["written"] + 0.5 * (len(rows) - found["written"] - found["adjacent"])) / len(rows), 3
        ),
    }


def paired(cases: list[dict], negatives: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Each claim's written chunk against its own negatives of each kind: wins, ties, losses."""
    return {
        name: dict(Counter(_outcome(c["support"]["positive"], c["support"][name]) for c in cases)) for name in negatives
    }


def _outcome(positive: float, negative: float) -> str:
    return "win" if positive > negative else "tie" if positive == negative else "loss"


def sample_row(kb: KnowledgeBase, case: dict) -> dict:
    """A positive as a person checks it: the claim, the start of the cited chunk, the span shown."""
    written: Audit = case["written"]
    text = kb.chunks[case["item"].source_slug][case["item"].citation.chunk].text
    return {
        "label": case["label"],
        "claim": case["claim"],
        "cited": case["item"].citation.raw,
        "chunk_start": text[:80],
        "span": text[slice(*written.span)] if written.span else None,
        "audit": written.status,
        "support": written.support,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kb_dir", help="a knowledge-base folder with imported pipeline reports")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="an AuditSettings value")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sample", type=int, default=0, help="print this many positives with claim, chunk and span")
    parser.add_argument(
        "--judged", type=Path, default=JUDGED_FILE, help="blind judgments of written vs adjacent chunk (JSON)"
    )
    args = parser.parse_args()
    changes = {}
    for item in args.set:
        name, _, value = item.partition("=")
        kind = type(getattr(audit.SETTINGS, name))
        changes[name] = kind(value)
    judged = json.loads(args.judged.read_text(encoding="utf-8"))["cases"] if args.judged.is_file() else None
    result = run(Path(args.kb_dir), replace(audit.SETTINGS, **changes), sample=args.sample, judged=judged)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=None if args.json else 1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
