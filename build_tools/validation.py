"""What the pipeline's validation step changed in a report's citations.

Citations are compared by what they cite (kind, normalized title, chunk), never by position:
validation rewrites the text around them. The report page shows the diff, the stats page counts it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rapidfuzz.fuzz import ratio
from rapidfuzz.process import extractOne

from .cite.resolve import normalize_title
from .knowledge_base import CitedReport, Sentences
from .models import Resolved

CitationKey = tuple[str, str, int | None]


def citation_key(item: Resolved) -> CitationKey:
    c = item.citation
    return c.kind, normalize_title(c.title or c.file or c.raw), c.chunk


def citing_sentences(items: list[Resolved], text: str) -> dict[CitationKey, Counter]:
    """Each cited thing → the sentences citing it → how many times."""
    found: dict[CitationKey, Counter] = {}
    around = Sentences(text, (i.citation for i in items)).around
    for item in items:
        found.setdefault(citation_key(item), Counter())[around(item.citation.start, item.citation.end)] += 1
    return found


SAME_SENTENCE = 60  # rapidfuzz ratio (0..100) at which a reworded sentence is still the same claim
COMPARED = 100  # sentences citing one thing compared on each side: the cost stays linear in the citations


def moved(after: Counter, before: Counter) -> bool:
    """A citation is moved when one of the sentences citing it now is like none that cited it before:
    validation rewords most sentences, and a reworded sentence is not a new place. Sentences are
    compared only within the first COMPARED on each side (a sentence kept as it was, anywhere)."""
    earlier = list(before)[:COMPARED]
    return any(
        a not in before and extractOne(a, earlier, scorer=ratio, score_cutoff=SAME_SENTENCE) is None
        for a in list(after)[:COMPARED]
    )


def citation_diff(cited: CitedReport) -> dict[str, list[tuple[CitationKey, int]]]:
    """Citations added, removed, and moved (cited in other sentences) by validation."""
    before = citing_sentences(cited.original, cited.report.original or "")
    after = citing_sentences(cited.final, cited.report.final)
    return {
        "added": [(k, sum(after[k].values())) for k in after if k not in before],
        "removed": [(k, sum(before[k].values())) for k in before if k not in after],
        "moved": [(k, sum(after[k].values())) for k in after if k in before and moved(after[k], before[k])],
    }


@dataclass(frozen=True)
class Change:
    """One cited thing validation added, removed or repaired, with how often and how it was written.

    `count` and `raw` are the final report's for added and repaired citations, the original's for
    removed ones; `was` is what a repaired citation replaced."""

    change: str  # added | removed | repaired
    key: CitationKey
    count: int
    raw: str
    was: CitationKey | None = None


class RepairCandidates:
    """The added citations that may repair a removed one, indexed: the first of `fixed` (in order)
    not yet taken, of the same kind, citing the same title or written in one of the same sentences.
    Each candidate list is read past its taken entries once: linear where a scan of `fixed` per
    removed citation was quadratic (8,000 titles replaced: 20 s)."""

    def __init__(self, fixed: list[CitationKey], after: dict[CitationKey, Counter]):
        self.position = {key: n for n, key in enumerate(fixed)}
        self.lists: dict[tuple, list[CitationKey]] = {}
        for key in fixed:
            self.lists.setdefault(("title", key[0], key[1]), []).append(key)
            for sentence in after[key]:
                self.lists.setdefault(("sentence", key[0], sentence), []).append(key)
        self.heads: dict[tuple, int] = {}
        self.taken: set[CitationKey] = set()

    def _head(self, name: tuple) -> CitationKey | None:
        entries, at = self.lists.get(name, []), self.heads.get(name, 0)
        while at < len(entries) and entries[at] in self.taken:
            at += 1
        self.heads[name] = at
        return entries[at] if at < len(entries) else None

    def take(self, old: CitationKey, sentences: Counter) -> CitationKey | None:
        names = [("title", old[0], old[1])] + [("sentence", old[0], sentence) for sentence in sentences]
        found = [key for name in names if (key := self._head(name)) is not None]
        new = min(found, key=self.position.__getitem__, default=None)
        if new is not None:
            self.taken.add(new)
        return new


def validation_changes(cited: CitedReport) -> list[Change]:
    """Added and removed as `citation_diff` says, except that a removed citation that did not
    resolve and an added one of the same kind that does, citing the same title or written in the
    same sentence, are one repair (validation fixed a chunk number or a title)."""
    before = citing_sentences(cited.original, cited.report.original or "")
    after = citing_sentences(cited.final, cited.report.final)
    first_before = {citation_key(item): item for item in reversed(cited.original)}
    first_after = {citation_key(item): item for item in reversed(cited.final)}
    resolved_before = {citation_key(item) for item in cited.original if item.status == "resolved"}
    broken = [k for k in before if k not in after and k not in resolved_before]
    fixed = [k for k in after if k not in before and first_after[k].status == "resolved"]
    repairs: dict[CitationKey, CitationKey] = {}  # added → removed
    candidates = RepairCandidates(fixed, after)
    for old in broken:
        if (new := candidates.take(old, before[old])) is not None:
            repairs[new] = old
    repaired_old = set(repairs.values())
    changes = [
        Change("added", k, sum(after[k].values()), first_after[k].citation.raw)
        for k in after
        if k not in before and k not in repairs
    ]
    changes += [
        Change("removed", k, sum(before[k].values()), first_before[k].citation.raw)
        for k in before
        if k not in after and k not in repaired_old
    ]
    changes += [
        Change("repaired", new, sum(after[new].values()), first_after[new].citation.raw, old)
        for new, old in repairs.items()
    ]
    return changes
