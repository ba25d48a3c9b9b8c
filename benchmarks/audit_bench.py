"""Citation audit benchmark (issue 15): ground truth by perturbing real reports.

Each resolved single-chunk long_context citation of a final report is kept as written (positive)
and moved twice (negatives): to the adjacent chunk of the same source (N+1, else N-1) and to a chunk
of another source of the report's corpus. It prints the ROC AUC of `support` for positive vs
adjacent and positive vs other-source, the share of written citations the audit flags (not
`supported`), the same for the plain baseline (the idf-weighted share of the citing sentence's
jieba terms found in the chunk, flagged below 0.2), and the audit's own time over the whole
knowledge base (segmentation cold, then cached as in a rebuild).

    .venv/bin/kb import ../shared/pipeline --sources /tmp/kb
    .venv/bin/python benchmarks/audit_bench.py /tmp/kb [--set weak=0.3] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from build_tools import audit
from build_tools.index import TermCache, fold, tokenize
from build_tools.knowledge_base import Sentences, build
from build_tools.models import Resolved

BASELINE_THRESHOLD = 0.2


def roc_auc(positives: list[float], negatives: list[float]) -> float:
    """P(a positive scores above a negative), ties counting half (Mann–Whitney U)."""
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def baseline(sentence: str, text: str, terms: audit.CorpusTerms) -> float:
    words = list(dict.fromkeys(tokenize(sentence)))
    weights = terms.weights(words)
    total = sum(weights.values())
    folded = fold(text)
    return sum(w for t, w in weights.items() if t in folded) / total if total else 0.0


def moved(item: Resolved, chunk: int, slug: str) -> Resolved:
    return replace(item, citation=replace(item.citation, chunk=chunk), source_slug=slug)


def run(root: Path, settings: audit.AuditSettings, seed: int = 0) -> dict:
    kb = build(root)
    started = time.perf_counter()
    cache = TermCache(None)
    audits = audit.audit_kb(kb, cache, settings)
    cold = time.perf_counter() - started
    started = time.perf_counter()
    audit.audit_kb(kb, cache, settings)
    warm = time.perf_counter() - started

    rng = random.Random(seed)
    scores: dict[str, list[float]] = {"positive": [], "adjacent": [], "other": []}
    plain: dict[str, list[float]] = {"positive": [], "adjacent": [], "other": []}
    statuses: Counter = Counter()
    flagged_plain = claimless = 0
    analyses = audit.chunk_analyses(kb, {s for s in kb.chunks}, cache)
    for slug, cited in sorted(kb.cited.items()):
        corpus = kb.loaded.corpora.get(cited.report.corpus or "")
        if corpus is None or slug not in audits:
            continue
        slugs = [s for s in corpus.slugs if s]
        sentences = Sentences(cited.report.final, cited.final)
        claims = audit.report_claims(cited.report.final, cited.final)
        around = [sentences.around(i.citation.start, i.citation.end) for i in cited.final]
        words = {w for c in claims + around if c for w in list(audit.claim_words(fold(c))) + tokenize(c)}
        terms = audit.corpus_terms(slugs, kb, analyses, words)
        folded = audit.Folded(kb)
        per_span = Counter((i.citation.start, i.citation.end) for i in cited.final if i.citation.kind == "long_context")
        for item, claim, sentence, written in zip(cited.final, claims, around, audits[slug]):
            if written is None or per_span[item.citation.start, item.citation.end] != 1:
                continue
            if not claim:
                claimless += 1  # a reference-list entry: nothing to support
                continue
            source, number = item.source_slug, item.citation.chunk
            count = len(kb.chunks[source])
            others = [s for s in slugs if s != source and kb.chunks.get(s)]
            if count < 2 or not others:
                continue
            adjacent = number + 1 if number + 1 < count else number - 1
            other = rng.choice(others)
            other_chunk = rng.randrange(len(kb.chunks[other]))
            cases = {"positive": item, "adjacent": moved(item, adjacent, source), "other": moved(item, other_chunk, other)}
            for name, case in cases.items():
                result = written if name == "positive" else audit.audit_citation(case, claim, kb, terms, folded, settings)
                scores[name].append(result.support)
                chunk_text = kb.chunks[case.source_slug][case.citation.chunk].text
                plain[name].append(baseline(sentence, chunk_text, terms))
            statuses[written.status] += 1
            flagged_plain += plain["positive"][-1] < BASELINE_THRESHOLD
    written_count = len(scores["positive"])
    all_audits = [a for rows in audits.values() for a in rows if a]
    return {
        "citations": written_count,
        "claimless_left_out": claimless,
        "audit": {
            "auc_adjacent": round(roc_auc(scores["positive"], scores["adjacent"]), 3),
            "auc_other_source": round(roc_auc(scores["positive"], scores["other"]), 3),
            "flagged": round(1 - statuses["supported"] / written_count, 3),
            "statuses": dict(statuses),
        },
        "baseline": {
            "auc_adjacent": round(roc_auc(plain["positive"], plain["adjacent"]), 3),
            "auc_other_source": round(roc_auc(plain["positive"], plain["other"]), 3),
            "flagged": round(flagged_plain / written_count, 3),
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kb_dir", help="a knowledge-base folder with imported pipeline reports")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="an AuditSettings value")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    changes = {}
    for item in args.set:
        name, _, value = item.partition("=")
        kind = type(getattr(audit.SETTINGS, name))
        changes[name] = kind(value)
    result = run(Path(args.kb_dir), replace(audit.SETTINGS, **changes))
    json.dump(result, sys.stdout, ensure_ascii=False, indent=None if args.json else 1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
