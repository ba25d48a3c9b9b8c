"""Evidence benchmark (issue 27): the audit's verdicts against blind readers.

A case is one distinct (claim, cited passage) pair of a knowledge base's reports: each resolved
long_context citation of a final or original report, its claim as the audit reads it
(`audit.report_claims`) and the text of the chunk it cites. Readers judge a case seeing only those two
texts, on a four-level scale: `states` (the passage states the claim's key facts), `partial` (some
of them), `topic` (on the topic, not the facts), `unrelated`.

    .venv/bin/kb import ../shared/pipeline --sources /tmp/kb
    .venv/bin/python -m benchmarks.evidence_bench export /tmp/kb /tmp/cases.jsonl   # for the readers; never committed
    .venv/bin/python -m benchmarks.evidence_bench export /tmp/kb /tmp/more.jsonl --alternates

    .venv/bin/python -m benchmarks.evidence_bench run /tmp/kb [--json] [--set unsupported_below=0.2]
    .venv/bin/python -m benchmarks.evidence_bench tune /tmp/kb                   # thresholds on one half, scored on the other
    .venv/bin/python -m benchmarks.evidence_bench run /tmp/kb --traditional /tmp/work  # its corpora in Traditional

`export` writes one JSON line per case, shuffled with a fixed seed: `key` (report slug, section,
the citation's offset and chunk: `slug@final@1234#5`, no text), `claim`, `passage`. The readers'
verdicts go into `evidence_judged.json` beside this file, by key, with no pipeline text.
`export --alternates` writes the same claims against chunks the writers did not cite (`alternates`,
keyed `slug@final@1234#5>source-slug#6`): more judged cases than a small output's citations;
`export --searched SITE` the judged claims against the chunk a built site's search ranks first
for them (`searched`, keyed the same way; the site built over the same knowledge base).

`run` audits every judged case as a build does (its report's claims, the postings of its corpus)
and prints, against the readers (`unsupported` wanted for `topic` and `unrelated`, never for
`states`): the recall of `unsupported` over topic+unrelated, the share of them shown `supported`,
the share of `states` flagged `unsupported`, the ROC AUC of `support` (states vs topic+unrelated)
and of a character-bigram baseline computed in the same run (the share of the claim's Chinese
character bigrams and Latin-script words found in the passage), the verdicts by reader verdict
(how `partial` lines up), and the readers' own agreement on the cases judged twice (the noise
floor). Each figure for all cases and for two fixed halves of them; `tune` picks the verdict's
two thresholds on one half and scores them on the other, both ways.

Cases of the held-out reports (`heldout_reports/`, reports writer agents wrote from the pipeline's
corpora; keys starting HELDOUT) are measured apart (`heldout`, `heldout_sets`), the reports added
to a copy of the knowledge base (`with_heldout`); `tune` never reads them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from build_tools import audit
from build_tools.analysis import TermCache, fold
from build_tools.knowledge_base import KnowledgeBase, build
from build_tools.models import Audit, Resolved
from build_tools.simplified import opencc_table

from .audit_bench import roc_auc

SEED = 27
SCALE = ("states", "partial", "topic", "unrelated")
NOT_STATED = ("topic", "unrelated")  # what a verdict should call `unsupported`
JUDGED_FILE = Path(__file__).with_name("evidence_judged.json")
HELDOUT_REPORTS = Path(__file__).with_name("heldout_reports")
HELDOUT = "heldout-"  # the slug of a held-out report (HELDOUT_REPORTS) starts so, and its cases' keys
TARGETS = {
    "recall_unsupported": 0.8,
    "not_stated_shown_supported": 0.1,
    "states_flagged_unsupported": 0.05,
    "auc": 0.95,
}


@dataclass(frozen=True)
class Case:
    """One claim and the passage its citation cites, keyed without text."""

    key: str
    claim: str
    passage: str


def cases(kb: KnowledgeBase) -> list[Case]:
    """Every distinct (claim, passage) pair of resolved long_context citations, first occurrence
    keyed, in report order: final texts before originals."""
    return _distinct(case for case, _ in _all_cases(kb))


def _distinct(found: Iterable[Case], seen: set[tuple[str, str]] | None = None) -> list[Case]:
    """The cases whose (claim, passage) is not in `seen` (added to it), first occurrence kept."""
    seen = set() if seen is None else seen
    kept = []
    for case in found:
        if case.claim.strip() and (case.claim, case.passage) not in seen:
            seen.add((case.claim, case.passage))
            kept.append(case)
    return kept


def _all_cases(kb: KnowledgeBase) -> Iterator[tuple[Case, Resolved]]:
    for slug, cited in sorted(kb.cited.items()):
        report = cited.report
        for section, items, text in (
            ("final", cited.final, report.final),
            ("original", cited.original, report.original),
        ):
            if not text:
                continue
            for item, claim in zip(items, audit.report_claims(text, items)):
                citation = item.citation
                if item.status != "resolved" or citation.kind != "long_context" or citation.chunk is None:
                    continue
                passage = kb.chunks[item.source_slug][citation.chunk].text
                yield Case(f"{slug}@{section}@{citation.start}#{citation.chunk}", claim, passage), item


ALTERNATE = ">"  # a written case's key, ALTERNATE, the other chunk: `slug@final@1234#5>source-slug#6`


def other_chunk(key: str) -> tuple[str, int]:
    """The (source slug, chunk) an alternate case's key names after ALTERNATE."""
    slug, _, number = key.rpartition(ALTERNATE)[2].rpartition("#")
    return slug, int(number)


def alternates(kb: KnowledgeBase, settings: audit.AuditSettings = audit.SETTINGS) -> list[Case]:
    """The written cases' claims against chunks the writers did not cite, for a judged set larger
    than the citations of a small output: per claim, the cited source's chunks before and after the
    cited one (on the same page, often the same topic), and the corpus's chunk of another source
    that shares most of the claim's rarer words (`audit.proposed`, the step that finds what to
    compare, before any scoring: the chunk a retriever would have offered). Pairs already among
    the written cases, or among earlier alternates, are left out."""
    written = list(_all_cases(kb))
    seen: set[tuple[str, str]] = set()
    _distinct((case for case, _ in written), seen)  # the written cases' pairs
    corpus_of = {
        case.key: kb.loaded.corpora.get(kb.cited[case.key.split("@")[0]].report.corpus or "") for case, _ in written
    }
    words: dict[str, set[str]] = {}
    for case, _ in written:
        if (corpus := corpus_of[case.key]) is not None:
            words.setdefault(corpus.key, set()).update(
                audit.claim_terms(case.claim), audit.claim_words(fold(case.claim))
            )
    analyses = audit.chunk_analyses(kb, set(kb.chunks), TermCache(None))
    terms = {
        key: audit.corpus_terms([s for s in kb.loaded.corpora[key].slugs if s], kb, analyses, found)
        for key, found in words.items()
    }
    found: list[Case] = []
    for case, item in written:
        slug, number = item.source_slug or "", item.citation.chunk or 0
        picked = [(slug, n) for n in (number - 1, number + 1) if 0 <= n < len(kb.chunks[slug])]
        if (corpus := corpus_of[case.key]) is not None:
            claim = fold(case.claim)  # the alternates judged were proposed by the claim's index words
            evidence = audit.Evidence(
                terms[corpus.key].weights(audit.claim_words(claim)), audit.claim_numbers(claim), settings
            )
            proposals = audit.proposed(evidence, terms[corpus.key], (slug, number), settings)
            picked += [key for key in proposals if key[0] != slug][:1]
        found += _distinct(
            (Case(f"{case.key}{ALTERNATE}{s}#{n}", case.claim, kb.chunks[s][n].text) for s, n in picked), seen
        )
    return found


def searched(kb: KnowledgeBase, site: Path, judged: Iterable[str]) -> list[Case]:
    """The judged written cases' claims, each once, against the chunk of their corpus that the
    site's own search ranks first for the claim as a query, other than the cited one (session 19):
    a selector that is neither the audit's scoring nor the baseline's, to judge claims against
    passages that may well state them. Pairs already written or judged are left out."""
    from build_tools.index import SITE_FOLDER
    from build_tools.search import Searcher

    searcher = Searcher(site / SITE_FOLDER)
    written = list(_all_cases(kb))
    claims = {case.key: case.claim for case, _ in written}
    seen = {(case.claim, case.passage) for case, _ in written}
    for key in judged:
        first = key.partition(ALTERNATE)[0]
        if ALTERNATE in key and first in claims:
            slug, number = other_chunk(key)
            seen.add((claims[first], kb.chunks[slug][number].text))
    judged, found, asked = set(judged), [], set()
    for case, item in written:
        corpus = kb.loaded.corpora.get(kb.cited[case.key.split("@")[0]].report.corpus or "")
        if case.key not in judged or case.claim in asked or corpus is None:
            continue
        asked.add(case.claim)
        for hit in searcher.search(case.claim, 40):
            slug, _, chunk = hit["location"].removeprefix("sources/").partition("/#chunk-")
            if not chunk or slug not in corpus.slugs or (slug, int(chunk)) == (item.source_slug, item.citation.chunk):
                continue
            other = Case(f"{case.key}{ALTERNATE}{slug}#{chunk}", case.claim, kb.chunks[slug][int(chunk)].text)
            if _distinct([other], seen):
                found.append(other)
                break
    return found


def bigram_share(claim: str, passage: str) -> float:
    """The baseline: the share of the claim's distinct Chinese character bigrams and Latin-script
    words (folded) found in the passage (bigrams as substrings, words as words): `audit.Pairs`,
    alone (support mixes it in with `pairs_weight`)."""
    return audit.Pairs.of(fold(claim)).share(fold(passage))


def audited_cases(kb: KnowledgeBase, settings: audit.AuditSettings, keys: set[str]) -> dict[str, Row]:
    """Each case of `keys` audited as a build audits its report (the original text as if final),
    with its baseline score."""
    cache = TermCache(None)
    analyses = audit.chunk_analyses(kb, set(kb.chunks), cache)
    chunks = audit.Chunks(kb)
    alternate_keys: dict[str, list[str]] = {}
    for key in sorted(keys):
        if ALTERNATE in key:
            alternate_keys.setdefault(key.partition(ALTERNATE)[0], []).append(key)
    found: dict[str, Row] = {}
    for slug, cited in sorted(kb.cited.items()):
        corpus = kb.loaded.corpora.get(cited.report.corpus or "")
        if corpus is None:
            continue
        report = cited.report
        sections = (("final", cited.final, report.final), ("original", cited.original, report.original or ""))
        claims = {name: audit.report_claims(text, items) for name, items, text in sections if text}
        words = {w for found_claims in claims.values() for c in found_claims if c for w in audit.claim_terms(c)}
        terms = audit.corpus_terms([s for s in corpus.slugs if s], kb, analyses, words)
        for name, items, text in sections:
            if not text:
                continue
            for written, claim in zip(items, claims[name]):
                key = f"{slug}@{name}@{written.citation.start}#{written.citation.chunk}"
                if not audit.auditable(written, kb):
                    continue
                for case_key in [key] * (key in keys) + alternate_keys.get(key, []):
                    item = written
                    if ALTERNATE in case_key:  # the same claim, another chunk cited
                        source, number = other_chunk(case_key)
                        citation = replace(written.citation, chunk=number)
                        item = replace(written, citation=citation, source_slug=source)
                    passage = kb.chunks[item.source_slug or ""][item.citation.chunk or 0].text
                    result = audit.audit_citation(item, claim, kb, terms, chunks, settings)
                    if result is None:  # nothing to check: no verdict (`not_found` names it)
                        continue
                    facts = audit.Facts.of(claim, terms, settings)
                    cited = chunks(item.source_slug or "", item.citation.chunk or 0)
                    lacks = audit.lacks_key_fact(facts, facts.found(cited.text, cited.numbers), settings)
                    found[case_key] = Row(result, bigram_share(claim, passage), lacks)
    return found


@dataclass(frozen=True)
class Row:
    """A judged case as the audit sees it."""

    audit: Audit
    baseline: float  # bigram_share
    lacks_key: bool  # what the verdict reads beside support and status (`audit.lacks_key_fact`)


def halves(judged: dict[str, str]) -> tuple[set[str], set[str]]:
    """Two fixed halves of the judged cases (key → reader verdict), each verdict split evenly."""
    ordered: list[str] = []
    for verdict in SCALE:
        keys = sorted(key for key, found in judged.items() if found == verdict)
        random.Random(SEED).shuffle(keys)
        ordered += keys
    return set(ordered[::2]), set(ordered[1::2])


def metrics(rows: list[tuple[str, str, float, float]]) -> dict:
    """The issue's figures over rows of (reader verdict, audit verdict, support, baseline)."""
    not_stated = [r for r in rows if r[0] in NOT_STATED]
    states = [r for r in rows if r[0] == "states"]

    def share(part: list, verdict: str) -> float | None:
        return round(sum(r[1] == verdict for r in part) / len(part), 3) if part else None

    return {
        "cases": len(rows),
        "readers": dict(Counter(r[0] for r in rows)),
        "recall_unsupported": share(not_stated, "unsupported"),
        "not_stated_shown_supported": share(not_stated, "supported"),
        "states_flagged_unsupported": share(states, "unsupported"),
        "auc_support": roc_auc([r[2] for r in states], [r[2] for r in not_stated]),
        "auc_baseline": roc_auc([r[3] for r in states], [r[3] for r in not_stated]),
        "auc_support_stated_in_part": roc_auc(
            [r[2] for r in rows if r[0] in ("states", "partial")], [r[2] for r in not_stated]
        ),
        "by_reader": {
            reader: dict(Counter(r[1] for r in rows if r[0] == reader))
            for reader in SCALE
            if any(r[0] == reader for r in rows)
        },
        "exact": round(sum(r[1] == AS_VERDICT[r[0]] for r in rows) / len(rows), 3) if rows else None,
    }


AS_VERDICT = {"states": "supported", "partial": "partial", "topic": "unsupported", "unrelated": "unsupported"}


def agreement(judged: dict[str, dict]) -> dict:
    """The two readers' agreement on the cases judged twice: exact, Cohen's kappa, states vs not."""
    pairs = [(case["verdict"], case["second"]) for case in judged.values() if "second" in case]
    if not pairs:
        return {"cases": 0}
    return {
        "cases": len(pairs),
        "exact": round(sum(a == b for a, b in pairs) / len(pairs), 3),
        "kappa": cohen_kappa(pairs),
        "states_vs_not": round(sum((a == "states") == (b == "states") for a, b in pairs) / len(pairs), 3),
        "not_stated_vs_not": round(sum((a in NOT_STATED) == (b in NOT_STATED) for a, b in pairs) / len(pairs), 3),
    }


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Agreement beyond chance between two raters' labels: (observed − expected) / (1 − expected)."""
    if not pairs:
        return None
    observed = sum(a == b for a, b in pairs) / len(pairs)
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[label] * second[label] for label in first) / len(pairs) ** 2
    return round((observed - expected) / (1 - expected), 3) if expected < 1 else None


def scored(found: dict[str, Row], judged: dict[str, dict], settings: audit.AuditSettings | None = None) -> dict:
    """key → (reader verdict, audit verdict, support, baseline); with `settings`, the verdict as
    those settings' thresholds give it (support does not depend on them)."""
    return {
        key: (
            judged[key]["verdict"],
            row.audit.verdict
            if settings is None
            else audit.verdict(row.audit.support, row.lacks_key, row.audit.status, settings),
            row.audit.support,
            row.baseline,
        )
        for key, row in found.items()
    }


def bootstrap(rows: list[tuple[str, str, float, float]], resamples: int = 2000) -> dict:
    """95% intervals of the two AUCs and of their difference, states and topic+unrelated cases
    resampled with replacement (seeded): how much 12 `states` cases leave the AUCs uncertain."""
    rng = random.Random(SEED)
    states = [r for r in rows if r[0] == "states"]
    not_stated = [r for r in rows if r[0] in NOT_STATED]
    if not states or not not_stated:
        return {}
    found: dict[str, list[float]] = {"auc_support": [], "auc_baseline": [], "difference": []}
    for _ in range(resamples):
        pos = rng.choices(states, k=len(states))
        neg = rng.choices(not_stated, k=len(not_stated))
        ours = roc_auc([r[2] for r in pos], [r[2] for r in neg]) or 0.0
        theirs = roc_auc([r[3] for r in pos], [r[3] for r in neg]) or 0.0
        found["auc_support"].append(ours)
        found["auc_baseline"].append(theirs)
        found["difference"].append(ours - theirs)
    return {
        name: [round(sorted(values)[int(q * resamples)], 3) for q in (0.025, 0.975)] for name, values in found.items()
    }


def run(kb_folder: Path, judged: dict[str, dict], settings: audit.AuditSettings) -> dict:
    """The figures on the development cases (the pipeline's own reports: `all`, its halves, written
    and alternates) and, apart, on the held-out reports' cases (`heldout`), never tuned on."""
    found = audited_cases(build(kb_folder), settings, set(judged))
    every = scored(found, judged)
    rows = {key: row for key, row in every.items() if not key.startswith(HELDOUT)}
    heldout = {key: row for key, row in every.items() if key.startswith(HELDOUT)}
    first, second = halves({key: row[0] for key, row in rows.items()})
    return {
        "all": metrics(list(rows.values())),
        "written": metrics([row for key, row in rows.items() if ALTERNATE not in key]),
        "alternates": metrics([row for key, row in rows.items() if ALTERNATE in key]),
        "half_a": metrics([row for key, row in rows.items() if key in first]),
        "half_b": metrics([row for key, row in rows.items() if key in second]),
        "heldout": metrics(list(heldout.values())),
        "heldout_written": metrics([row for key, row in heldout.items() if ALTERNATE not in key]),
        "heldout_alternates": metrics([row for key, row in heldout.items() if ALTERNATE in key]),
        "heldout_sets": {
            name: metrics([row for key, row in heldout.items() if heldout_set(key) == name])
            for name in sorted({heldout_set(key) for key in heldout})
        },
        "development_and_heldout": metrics(list(every.values())),
        "auc_intervals": bootstrap(list(rows.values())),
        "heldout_auc_intervals": bootstrap(list(heldout.values())),
        "not_found": sorted(set(judged) - set(found)),
        "statuses": dict(Counter(row.audit.status for row in found.values())),
        "readers": agreement(judged),
        "targets": TARGETS,
        "settings": dataclasses.asdict(settings),
    }


def missed(figures: dict) -> float:
    """How far a half's figures are from the issue's verdict targets (0 when all are met)."""
    return round(
        max(0.0, TARGETS["recall_unsupported"] - (figures["recall_unsupported"] or 0.0))
        + max(0.0, (figures["not_stated_shown_supported"] or 0.0) - TARGETS["not_stated_shown_supported"])
        + max(0.0, (figures["states_flagged_unsupported"] or 0.0) - TARGETS["states_flagged_unsupported"]),
        6,
    )


def tune(kb_folder: Path, judged: dict[str, dict], settings: audit.AuditSettings) -> dict:
    """The verdict's thresholds (`unsupported_below`, `supported_from`, by 0.01) chosen on one half:
    the issue's targets met first, then the most verdicts as the readers' (states → supported,
    partial → partial, topic or unrelated → unsupported), the lowest thresholds among equals;
    scored on the other half, and both ways."""
    judged = {key: case for key, case in judged.items() if not key.startswith(HELDOUT)}  # never tuned on
    found = audited_cases(build(kb_folder), settings, set(judged))
    first, second = halves({key: case["verdict"] for key, case in judged.items() if key in found})
    grid = [(low / 100, high / 100) for low in range(0, 61) for high in range(low, 81)]

    def figures(keys: set[str], point: tuple[float, float]) -> dict:
        chosen = replace(settings, unsupported_below=point[0], supported_from=point[1])
        return metrics(list(scored({k: v for k, v in found.items() if k in keys}, judged, chosen).values()))

    result = {}
    for name, (tuning, testing) in {"a_then_b": (first, second), "b_then_a": (second, first)}.items():
        ranked = {point: figures(tuning, point) for point in grid}
        point = min(grid, key=lambda p: (missed(ranked[p]), -ranked[p]["exact"], p))
        result[name] = {
            "unsupported_below": point[0],
            "supported_from": point[1],
            "tuned": ranked[point],
            "tested": figures(testing, point),
        }
    return result


def export(kb_folder: Path, out: Path, other_chunks: bool = False, site: Path | None = None) -> int:
    kb = build(kb_folder)
    if site is not None:
        found = searched(kb, site, json.loads(JUDGED_FILE.read_text(encoding="utf-8"))["cases"])
    else:
        found = alternates(kb) if other_chunks else cases(kb)
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
    exporting.add_argument(
        "--alternates", action="store_true", help="the written claims against chunks not cited (`alternates`)"
    )
    for command, about in (
        ("run", "the audit's verdicts and support against the readers' verdicts"),
        ("tune", "the verdict's thresholds chosen on one half of the cases, scored on the other"),
    ):
        measuring = commands.add_parser(command, help=about)
        measuring.add_argument("kb", type=Path)
        measuring.add_argument("--judged", type=Path, default=JUDGED_FILE)
        measuring.add_argument(
            "--set", action="append", default=[], metavar="NAME=VALUE", help="an AuditSettings value"
        )
        measuring.add_argument("--json", action="store_true")
        measuring.add_argument(
            "--traditional",
            type=Path,
            metavar="WORK",
            help="the knowledge base copied into WORK with its corpora's pages in Traditional characters (`traditional_copy`)",
        )
    exporting.add_argument(
        "--searched",
        type=Path,
        metavar="SITE",
        help="the judged claims against their search's first chunk (`searched`)",
    )
    args = parser.parse_args(argv)
    if args.command == "export":
        return export(args.kb, args.out, args.alternates, args.searched)
    judged = json.loads(args.judged.read_text(encoding="utf-8"))["cases"]
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as scratch:
        work = args.traditional or Path(scratch)
        kb_folder = traditional_copy(args.kb, work) if args.traditional else args.kb
        if args.command == "run" and any(key.startswith(HELDOUT) for key in judged):
            kb_folder = with_heldout(kb_folder, work)
        result = (run if args.command == "run" else tune)(kb_folder, judged, settings_with(args.set))
    json.dump(result, sys.stdout, ensure_ascii=False, indent=None if args.json else 1)
    sys.stdout.write("\n")
    return 0


def traditional_copy(kb_folder: Path, work: Path) -> Path:
    """A copy of the knowledge base in `work` whose corpora's pages (`corpora/*/*.json`, as `kb import`
    writes them) are in Traditional characters, by OpenCC's Simplified-to-Traditional table (the
    first form of each character; titles kept, so citations still name them): the same claims
    against the same passages as a Taiwan or Hong Kong site would write them. One character for
    one, so every chunk is cut where it was (the chunk lock is left out)."""
    table = str.maketrans(opencc_table("STCharacters.txt"))
    copy = work / "kb"
    shutil.copytree(kb_folder, copy, ignore=shutil.ignore_patterns("chunks.lock"), dirs_exist_ok=True)
    for path in sorted(copy.glob("corpora/*/*.json")):
        pages = json.loads(path.read_text(encoding="utf-8"))
        for page in pages:
            page["page_body"] = page["page_body"].translate(table)
        path.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    return copy


def heldout_set(key: str) -> str:
    """The set a held-out case belongs to: its report's slug without the task (`heldout-writer2`)."""
    return key.partition("@")[0].rpartition("-")[0]


def with_heldout(kb_folder: Path, work: Path) -> Path:
    """The knowledge base with the held-out reports (HELDOUT_REPORTS) among its reports: copied into
    `work` first unless it is already there (`traditional_copy`)."""
    copy = work / "kb"
    if kb_folder.resolve() != copy.resolve():
        shutil.copytree(kb_folder, copy, dirs_exist_ok=True)
    shutil.copytree(HELDOUT_REPORTS, copy / "reports", dirs_exist_ok=True)
    return copy


def settings_with(changes: list[str]) -> audit.AuditSettings:
    values = {}
    for change in changes:
        name, _, value = change.partition("=")
        values[name] = type(getattr(audit.SETTINGS, name))(value)
    return replace(audit.SETTINGS, **values)


if __name__ == "__main__":
    sys.exit(main())
