"""The query side of search, `kb search`: the browser worker's rule and ranking over the same files.

Queries cannot run jieba in the browser, so query segmentation is defined on the index itself:
every substring of a Chinese run that is an indexed term becomes a clause (single characters only
where no longer term covers them), and two characters (English words) in a row are looked up as a
join where two words of the query could meet there with their join indexed (the manifest lists
the words common enough to join, with their counts). Ranking: documents covering more of the
query's characters (and English words) with words first, then with joins, then BM25 (a typed
prefix counts as its best completion, not all). Then the first `checked` results are read from
their pages, as the worker does to show their snippets, and those that hold the query as typed
move first; while none does, the next is read, one at a time, up to `rechecked`: the index knows
which words a chunk has, its page knows their order. The settings are the index's own, from its
manifest. `query_terms`/`Searcher` here and `citekb-search.js` implement the same rules; a test
proves they agree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .analysis import bucket_term, is_cjk, join_hash, join_key, join_rule, runs
from .index import FORMAT, SETTINGS, SearchSettings, bm25, read_tables, shard_of
from .reading import MAX_TEXT, read_file
from .shards import Shard


@dataclass(frozen=True)
class Clause:
    term: str
    prefix: bool  # also match longer terms (the last English word may still be being typed)
    positions: int  # bit mask of the query characters / words this clause covers
    joined: bool = False  # a join bucket: ranks after the words' coverage


def _bits(start: int, end: int, settings: SearchSettings) -> int:
    """The coverage mask of query positions start..end-1."""
    mask = 0
    for position in range(start, end):
        mask |= 1 << min(position, settings.coverage_bits)
    return mask


def join_places(
    runs: list[str], can_join: Callable[[str, str], bool], settings: SearchSettings
) -> list[tuple[str, int]]:
    """Where a query's joins are looked up, as (join key, first position): English words in a row,
    and two characters in a row where two words of the run that join could meet."""
    found: list[tuple[str, int]] = []
    position = 0
    for number, run in enumerate(runs):
        if not is_cjk(run):
            if number and not is_cjk(runs[number - 1]) and can_join(runs[number - 1], run):
                found.append((join_key(runs[number - 1], run), position - 1))
            position += 1
            continue
        for i in range(len(run) - 1):
            ending = [run[start : i + 1] for start in range(max(0, i + 1 - settings.max_term), i + 1)]
            starting = [run[i + 1 : end] for end in range(i + 2, min(len(run), i + 1 + settings.max_term) + 1)]
            if any(can_join(a, b) for a in ending for b in starting):
                found.append((run[i : i + 2], position + i))
        position += len(run)
    return found


def query_terms(
    query: str,
    has_term: Callable[[str], bool],
    can_join: Callable[[str, str], bool],
    buckets: int = 1,
    settings: SearchSettings = SETTINGS,
) -> list[Clause]:
    """The clauses of a query: see the module docstring for the rule."""
    clauses: list[Clause] = []
    query_runs = runs(query)
    position = 0
    for number, run in enumerate(query_runs):
        if not is_cjk(run):
            clauses.append(
                Clause(run, number == len(query_runs) - 1 and len(run) >= 3, _bits(position, position + 1, settings))
            )
            position += 1
            continue
        covered = [False] * len(run)
        for start in range(len(run)):
            for end in range(start + 2, min(len(run), start + settings.max_term) + 1):
                if has_term(run[start:end]):
                    clauses.append(Clause(run[start:end], False, _bits(position + start, position + end, settings)))
                    covered[start:end] = [True] * (end - start)
        clauses += [
            Clause(c, False, _bits(position + i, position + i + 1, settings))
            for i, c in enumerate(run)
            if not covered[i] and has_term(c)
        ]
        position += len(run)
    for key, start in join_places(query_runs, can_join, settings):
        term = bucket_term(join_hash(key) % buckets)
        if has_term(term):
            clauses.append(Clause(term, False, _bits(start, start + 2, settings), True))
    merged: dict[tuple[str, bool], Clause] = {}
    for clause in clauses:
        had = merged.get((clause.term, clause.prefix))
        merged[clause.term, clause.prefix] = (
            replace(clause, positions=clause.positions | had.positions) if had else clause
        )
    return list(merged.values())


def phrase_key(text: str) -> str:
    """A text's words and Chinese runs, folded, one space apart: the query as typed is in a text
    when its key is in the text's key (a last word may still be being typed)."""
    return " ".join(runs(text))


_BOILERPLATE = re.compile(r'<details[^>]*class="citekb-boilerplate"[\s\S]*?</details>')
# A citation's label, preview and verdict mark: not words of the page (no nested span in any).
_CITATION = re.compile(r'<span class="citekb-(?:preview|cite-label|verdict)"[\s\S]*?</span>')
_PERMALINK = re.compile(r'<a class="headerlink"[^>]*>¶</a>')
_TAGS = re.compile(r"<[^>]+>")
_ENTITY = re.compile(r"&(#x[0-9a-f]+|#\d+|\w+);", re.IGNORECASE)
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}
_CHUNK_TEXT = re.compile(r'<div class="citekb-text">([\s\S]*?)</div>')
_SECTION_END = re.compile(
    r"<h[1-6][\s>]|</article>"
)  # the next heading (report headings are sections) or the page's end


def _entity(match: re.Match) -> str:
    name = match.group(1)
    if not name.startswith("#"):
        return _ENTITIES.get(name, match.group(0))
    try:
        return chr(int(name[2:], 16) if name[1] in "xX" else int(name[1:]))
    except (ValueError, OverflowError):  # no such character: as a browser would, not ours to fix
        return "\ufffd"


def plain(html: str) -> str:
    """Page HTML as the reader sees it, hidden boilerplate, citation markup and headings' permalinks
    left out (the worker's `plain`)."""
    text = _TAGS.sub("", _PERMALINK.sub("", _CITATION.sub(" ", _BOILERPLATE.sub(" ", html))))
    return " ".join(_ENTITY.sub(_entity, text).split())


def section_text(html: str, anchor: str) -> str:
    """The text of one chunk or report section of a built page (the worker's `sectionText`)."""
    at = html.find(f'id="{anchor}"')
    if at < 0:
        return ""
    if anchor.startswith("chunk-"):
        found = _CHUNK_TEXT.search(html, at)
        return plain(found.group(1)) if found else ""
    rest = html[html.find(">", at) + 1 :]
    end = _SECTION_END.search(rest)
    return plain(rest[: end.start()] if end else rest)


def site_file(path: Path) -> bytes:
    """A file of a built site (the index's, a page), read as `reading.read_file` reads: what is no
    regular file (a pipe, a device) or larger than MAX_TEXT, or cannot be read, is no file a build
    wrote (ValueError: the site is to be built again)."""
    try:
        data = read_file(path, MAX_TEXT)
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror or error})") from None
    if data is None or len(data) > MAX_TEXT:
        raise ValueError(f"{path}: not a regular file of at most {MAX_TEXT >> 20} MiB")
    return data


class Searcher:
    """`kb search`: the browser worker's algorithm over the same files, with the settings the
    index was built with. The first `checked` results are read from their pages (the worker shows
    them with a snippet cut from there), and the next one at a time up to `rechecked` while none
    holds the query as typed; `texts` stands in for the pages where there is no built site
    (location → the section's text)."""

    def __init__(self, folder: Path, texts: Callable[[str], str] | None = None):
        self.folder = folder
        self.texts = texts or self.page_text
        self.manifest = json.loads(site_file(folder / "manifest.json"))
        if self.manifest.get("format") != FORMAT:
            raise ValueError(
                f"{folder}: search index format {self.manifest.get('format')}, expected {FORMAT}; rebuild the site"
            )
        self.pages, self.docs = read_tables(json.loads(site_file(folder / "docs.json")))
        self.settings = SearchSettings(**self.manifest["settings"])
        self.can_join = join_rule(self.manifest["join_words"], self.manifest["documents"], self.settings.join_share)
        self._shards: dict[int, Shard] = {}
        self._pages: dict[Path, str] = {}

    def shard(self, term: str) -> Shard:
        number = shard_of(term, self.manifest["shards"])
        if number not in self._shards:
            self._shards[number] = Shard(site_file(self.folder / f"shard-{number}.bin"))
        return self._shards[number]

    def clauses(self, query: str) -> list[Clause]:
        """The query's clauses; stop words only where the query has nothing else."""
        stop, buckets = self.manifest["stop_words"], self.manifest["join_buckets"]
        ordinary = [
            clause
            for clause in query_terms(
                query, lambda t: t not in stop and t in self.shard(t).offsets, self.can_join, buckets, self.settings
            )
            if clause.term not in stop
        ]  # English words become clauses unlooked-up
        return ordinary or query_terms(
            query, lambda t: t in self.shard(t).offsets, self.can_join, buckets, self.settings
        )

    def weight(self, tf: int, df: int, length: int) -> float:
        m = self.manifest
        return bm25(tf, df, length, m["documents"], m["average_length"], self.settings)

    def search(self, query: str, limit: int = 10) -> list[dict]:
        stop = self.manifest["stop_words"]
        scores: dict[int, float] = {}
        covered: dict[int, int] = {}  # query positions a document holds words of ...
        joined: dict[int, int] = {}  # ... and where its joins meet the query's
        for clause in self.clauses(query):
            shard = self.shard(clause.term)
            best: dict[int, float] = {}  # a prefix counts as its best completion in each document
            for term in shard.with_prefix(clause.term) if clause.prefix else [clause.term]:
                if term in stop and term != clause.term:
                    continue  # a stop word's postings are cut short: no completion of an ordinary word
                postings = shard.postings(term, not clause.joined) if term in shard.offsets else []
                df = stop.get(term, len(postings))
                for document, tf in postings:
                    best[document] = max(best.get(document, 0.0), self.weight(tf, df, self.docs[document][3]))
            held = joined if clause.joined else covered
            for document, weight in best.items():
                scores[document] = scores.get(document, 0.0) + weight
                held[document] = held.get(document, 0) | clause.positions
        ranked = sorted(
            scores,
            key=lambda d: (
                -bin(covered.get(d, 0)).count("1"),
                -bin(joined.get(d, 0)).count("1"),
                -round(scores[d], 6),
                d,
            ),
        )
        key = phrase_key(query)

        def typed_among(documents: list[int]) -> list[int]:
            return [d for d in documents if key and key in phrase_key(self.texts(self.location(d)))]

        typed = typed_among(ranked[: self.settings.checked])
        for document in ranked[self.settings.checked : self.settings.rechecked]:  # then the next while none holds it
            if typed:
                break
            typed = typed_among([document])
        moved = set(typed)
        ranked = typed + [d for d in ranked[: limit + len(typed)] if d not in moved]
        return [self.result(d, scores[d], bin(covered.get(d, 0)).count("1")) for d in ranked[:limit]]

    def location(self, document: int) -> str:
        page, anchor, _, _ = self.docs[document]
        return f"{self.pages[page][0]}#{anchor}"

    def page_text(self, location: str) -> str:
        """A section's text from the built site this index belongs to (site/search/citekb/)."""
        path, anchor = location.split("#")
        page = self.folder.parent.parent / path / "index.html"
        if page not in self._pages:
            self._pages[page] = site_file(page).decode("utf-8") if page.exists() else ""
        return section_text(self._pages[page], anchor)

    def result(self, document: int, score: float, matched: int) -> dict:
        page, _, label, _ = self.docs[document]
        return {
            "location": self.location(document),
            "title": f"{self.pages[page][1]} · {label}",
            "score": round(score, 6),
            "matched": matched,
        }
