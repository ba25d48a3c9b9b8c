"""Decide what each citation points at, or say exactly why it points at nothing.

A wrong link is worse than none: titles match only by normalized equality or by the pipeline's
50-character cut; anything fuzzier becomes a suggestion the reader sees, never a link.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from rapidfuzz.distance.Levenshtein import distance

from ..messages import Reason
from ..models import Citation, FilePart, FileSource, Resolved, Source
from ..paths import chunk_path, part_anchor, source_path
from ..simplified import simplified
from .parse import KINDS, Locator, parse_locator

T = TypeVar("T")

MIN_PREFIX = 8  # a cited title shorter than this must equal a whole title
TITLE_CUT = 50  # the pipeline writes a citation's title cut to its first 50 characters
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
# Models retype quotes: “十五五” is cited as "十五五". Folded on both sides, never fuzzier.
_QUOTES = str.maketrans(dict.fromkeys("“”„‟＂「」『』〝〞", '"') | dict.fromkeys("‘’‚‛＇", "'"))
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f]|^\.|\.\.")
_WORD_START = re.compile(
    r"(?<=[\s,，、:：;；(（“\"'])(?=\S)|(?<=[\u3400-\u9fff])(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])(?=[\u3400-\u9fff])"
)
_URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@lru_cache(maxsize=1 << 17)  # every report's scope normalizes its corpus's titles: the same few thousand
def normalize_title(title: str) -> str:
    """NFKC, Traditional characters as Simplified (writers retype them as they retype quotes), quote
    styles folded, zero-width and direction marks removed, white space folded."""
    folded = simplified(unicodedata.normalize("NFKC", title)).translate(_QUOTES)
    return _SPACES.sub(" ", _INVISIBLE.sub("", folded)).strip()


def hint_tolerance(text: str) -> int:
    """How many edits a "did you mean" hint may be from what was cited: none for 1–3 characters
    (every short title is a few edits from every other), then a third of the length, at most
    max(2, a tenth)."""
    length = len(text)
    return 0 if length <= 3 else min(length // 3, max(2, length // 10))


def file_key(name: str) -> str:
    """How a task file's name is looked up: the same on disk (NFD, full-width…) and in a report."""
    return normalize_title(name).casefold()


def stem_key(name: str) -> str | None:
    """A task file's name without its extension, looked up as `file_key`: how a writer citing the
    file as a corpus document often names it (`[long_context: "gpt-4 technical report", chunk 3]`
    for `gpt-4 technical report.pdf`). None for a name with no extension."""
    stem, dot, _ = name.rpartition(".")
    return file_key(stem) if dot and stem.strip() else None


def file_stems(files: Iterable[FileSource]) -> dict[str, FileSource]:
    """Task files by `stem_key`; a stem two files share names neither."""
    found: dict[str, FileSource | None] = {}
    for file in files:
        key = stem_key(file.name)
        if key is not None:
            found[key] = None if key in found and found[key] is not file else file
    return {key: file for key, file in found.items() if file is not None}


def url_key(url: str) -> str:
    """A URL without what does not change the page: scheme, `www.`, a trailing slash, a fragment;
    the host is case-folded, the path kept as written."""
    url = _URL_SCHEME.sub("", url.strip()).split("#", 1)[0]
    host, _, rest = url.partition("/")
    host = host.lower().removeprefix("www.")
    return f"{host}/{rest}".rstrip("/")


class Titles:
    """The one title rule, for the resolver and for `kb stats`: a cited title names the sources whose
    normalized title equals it or, when it is at least MIN_PREFIX long, starts with it (the
    pipeline's 50-character cut, or a writer's shorter one). Sorted, so a look-up is a binary
    search even over every source of the knowledge base."""

    def __init__(self, sources: Iterable[Source]) -> None:
        self.keyed = [(normalize_title(s.title), s) for s in sources]  # in the sources' order
        self._order = sorted(range(len(self.keyed)), key=lambda i: self.keyed[i][0])
        self._keys = [self.keyed[i][0] for i in self._order]
        # Each cited title is looked up once: summed over the distinct titles cited, the prefix
        # matches number at most the corpus's titles times their length, however many citations.
        self._matched: dict[tuple[str, bool], list[Source]] = {}

    def match(self, cited: str) -> list[Source]:
        """Exact matches, else prefix matches; both where the title is as long as the pipeline's
        cut (a title of exactly 50 characters and a longer one starting with it are cited alike);
        in the sources' order."""
        wanted = normalize_title(cited)
        key = (wanted, len(cited.strip()) == TITLE_CUT)
        if key not in self._matched:
            start, end = bisect_left(self._keys, wanted), bisect_right(self._keys, wanted)
            if (start == end or key[1]) and len(wanted) >= MIN_PREFIX:  # the keys that start with it follow it
                after = _after_prefixes(wanted)
                end = len(self._keys) if after is None else bisect_left(self._keys, after, start)
            self._matched[key] = [self.keyed[i][1] for i in sorted(self._order[start:end])]
        return self._matched[key]


def _after_prefixes(prefix: str) -> str | None:
    """The least text after every text that starts with `prefix`, or None when there is none."""
    stem = prefix.rstrip(chr(sys.maxunicode))
    return stem[:-1] + chr(ord(stem[-1]) + 1) if stem else None


def url_index(sources: list[Source]) -> dict[str, Source]:
    """`url_key` of every source's origin URL → the first source with it, and the same with its
    fragment (`url_key#fragment`). Where sources under one key differ by their fragments (a
    single-page site's `#/article/1` and `#/article/2` are two pages), the key alone names none of
    them: a citation of `#/article/2` went to `#/article/1`'s source."""
    index: dict[str, Source] = {}
    fragments: dict[str, set[str]] = {}
    for source in sources:
        origin = source.meta.get("origin", "")
        if _URL_SCHEME.match(origin):
            key, fragment = url_key(origin), _fragment(origin)
            index.setdefault(key, source)
            index.setdefault(f"{key}#{fragment}", source)
            fragments.setdefault(key, set()).add(fragment)
    for key, found in fragments.items():
        if len(found) > 1:
            del index[key]
    return index


def _fragment(url: str) -> str:
    return url.strip().partition("#")[2]


@dataclass
class Scope:
    """What one report can cite: its corpus's documents and its task's files."""

    sources: list[Source]
    chunk_counts: dict[str, int]
    files: dict[str, FileSource] = field(default_factory=dict)  # file_key(name) → file
    files_folder: str | None = None
    rag_titles: dict[str, str] = field(default_factory=dict)
    missing_corpus: Reason | None = None  # why long_context citations cannot resolve at all
    elsewhere: Titles | None = None  # every source of the knowledge base, for suggestions only
    urls: dict[str, Source] = field(default_factory=dict)  # url_index() of every source in the knowledge base

    titles: Titles | None = None  # of `sources`: given when several reports share a corpus
    # Names compared for "did you mean" hints, at most: each unknown title is compared with every
    # title of the corpus, so without a bound a report of invented titles over a large corpus costs
    # their product. scope_for gives a budget in proportion to the report's length.
    hint_budget: int = 1_000_000

    def __post_init__(self) -> None:
        self.titles = self.titles or Titles(self.sources)
        self.stems = file_stems(self.files.values())
        self._urls = url_index(self.sources)
        self._hints: dict[tuple[str, str], Source | FileSource | None] = {}

    def _afford(self, comparisons: int) -> bool:
        if comparisons > self.hint_budget:
            return False
        self.hint_budget -= comparisons
        return True

    def by_url(self, url: str) -> Source | None:
        """The report's own corpus first: the same page may be in several corpora. The address with
        its fragment first (`url_index`)."""
        key = url_key(url)
        whole = f"{key}#{_fragment(url)}"
        return self._urls.get(whole) or self._urls.get(key) or self.urls.get(whole) or self.urls.get(key)

    def near_miss(self, cited: str) -> Source | None:
        """The title within a few edits of the cited one (whole, or cut to the cited length when the
        cited one is long enough to be a cut title)."""
        wanted = normalize_title(cited)
        if ("title", wanted) not in self._hints:
            tolerance = hint_tolerance(wanted)
            found = None
            if tolerance and self._afford(len(self.titles.keyed)):
                cut = len(wanted) if len(wanted) >= MIN_PREFIX else None
                found = _nearest(wanted, ((t[:cut], t, s) for t, s in self.titles.keyed), tolerance)
            self._hints["title", wanted] = found if found and found[0] <= tolerance else None
        hint = self._hints["title", wanted]
        return hint[1] if hint else None

    def near_file(self, wanted: str) -> FileSource | None:
        """The task file whose name (`file_key`) is a few edits, but not none, from `wanted`'s."""
        if ("file", wanted) not in self._hints:
            tolerance = min(3, hint_tolerance(wanted.rsplit(".", 1)[0]))  # judged by the name without its suffix
            found = None
            if self._afford(len(self.files)):
                found = _nearest(wanted, ((key, key, f) for key, f in self.files.items()), tolerance)
            self._hints["file", wanted] = found if found and 0 < found[0] <= tolerance else None
        hint = self._hints["file", wanted]
        return hint[1] if hint else None


def _nearest(wanted: str, named: Iterable[tuple[str, str, T]], tolerance: int) -> tuple[int, T] | None:
    """The first of `named` (two names each, a thing) with the fewest edits from `wanted` to either
    name, and that number; None when every one is more than `tolerance` edits away (Levenshtein
    with a cutoff: only what can still win is computed in full)."""
    best: tuple[int, T] | None = None
    for first, second, thing in named:
        cutoff = tolerance if best is None else best[0] - 1
        if cutoff < 0:
            break
        edits = min(distance(wanted, first, score_cutoff=cutoff), distance(wanted, second, score_cutoff=cutoff))
        if edits <= cutoff:
            best = (edits, thing)
    return best


def _unresolved(citation: Citation, status: str, reason: Reason, suggestion: Reason | None = None) -> Resolved:
    return Resolved(citation, status, None, reason, suggestion)


def _find_source(citation: Citation, title: str, scope: Scope) -> Source | Resolved:
    if scope.missing_corpus:
        known = scope.elsewhere.match(title) if scope.elsewhere else []
        hint = Reason.of("elsewhere", name=known[0].title) if known else None
        return _unresolved(citation, "unknown_source", scope.missing_corpus, hint)
    matches = scope.titles.match(title)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        return _unresolved(citation, "unknown_source", Reason.of("ambiguous_title", count=len(matches)))
    near = scope.near_miss(title)
    return _unresolved(
        citation,
        "unknown_source",
        Reason.of("not_in_corpus"),
        Reason.of("did_you_mean", name=near.title) if near else None,
    )


def part_for(file: FileSource, locator: Locator | None) -> FilePart | None | Reason:
    """The part of `file` a locator names (its first page/slide, a deck's slide by a page number, or
    a sheet by name, with or without the word: `[文档: data.xlsx, 销量]`): the part, None when the
    locator names no place we can show (`Section 4.1`, a page of a docx), or why the place does not
    exist."""
    if locator is not None and locator.kind == "other":  # a workbook's sheet named alone, else nothing read
        wanted = file_key(locator.name or "")
        return next((p for p in file.parts if p.kind == "sheet" and file_key(p.name or "") == wanted), None)
    if locator is None or locator.kind == "chunk":
        return None
    if not file.parts and file.kind in ("pdf", "pptx", "xlsx"):
        return None  # nothing extracted (a damaged file): whether the place exists cannot be known
    parts = [p for p in file.parts if p.kind == locator.kind]
    if locator.kind in ("page", "slide") and not parts:  # a deck's 第2页 is its second slide; a PDF's
        parts = [p for p in file.parts if p.kind in ("page", "slide")]  # slide 2 (a deck shared as one) its page 2
    if locator.kind == "sheet":
        wanted = file_key(locator.name or "")
        return next(
            (p for p in parts if file_key(p.name or "") == wanted),
            Reason.of("no_sheet", name=file.name, sheet=locator.name or ""),
        )
    if not parts:
        return None  # pages named in a file that has none (an image, a docx): the file itself
    number = locator.numbers[0]
    if 1 <= number <= len(parts):
        return parts[number - 1]
    return Reason.of(f"no_such_{locator.kind}", name=file.name, count=len(parts), number=number)


# A locator naming a page, slide or sheet (a word for one), read or not.
_PLACE_WORD = re.compile(r"\b(?:pages?|pp?\.|slides?|sheets?)\b|[第页张]|幻灯片|工作表", re.IGNORECASE)


def _link_file(citation: Citation, file: FileSource, status: str, reason: Reason | None = None) -> Resolved:
    """A link to a task file's page, at the page/slide/sheet the locator names when it exists; where
    the file's text has no such places (a docx's page, a damaged PDF's), the link is to the whole
    file with a note saying the place could not be checked."""
    locator = parse_locator(citation.locator)
    place = part_for(file, locator)
    if isinstance(place, Reason):
        status = "locator_out_of_range" if status == "resolved" else status
        reason = reason.followed_by(place) if reason else place
        place = None
    elif place is None and locator and locator.kind == "other" and _PLACE_WORD.search(locator.name or ""):
        # `Page III`, `第三页`: a place not read; never a page the audit picks instead (`cited_parts`)
        unread = Reason.of("place_unread", locator=citation.locator or "")
        reason = reason.followed_by(unread) if reason else unread
    elif place is None and locator and locator.kind in ("page", "slide", "sheet") and reason is None:
        sheets = any(part.kind == "sheet" for part in file.parts)  # a workbook's page or slide
        reason = Reason.of(
            "place_in_sheets" if sheets else "place_unchecked", name=file.name, locator=citation.locator or ""
        )
    target = source_path(file.slug, part_anchor(place) if place else None)
    return Resolved(citation, status, target, reason, source_slug=file.slug)


def _chunk_of(citation: Citation, source: Source, scope: Scope) -> Resolved:
    if citation.chunk is None:
        what = (
            Reason.of("not_a_chunk_number", locator=citation.locator)
            if citation.locator
            else Reason.of("no_chunk_number")
        )
        return Resolved(citation, "malformed", None, what, Reason.of("source_is", name=source.title), source.slug)
    count = scope.chunk_counts[source.slug]
    if citation.chunk >= count:
        return Resolved(
            citation,
            "chunk_out_of_range",
            None,
            Reason.of("too_few_chunks", name=source.title, count=count, last=count - 1),
            source_slug=source.slug,
        )
    return Resolved(citation, "resolved", chunk_path(source.slug, citation.chunk), source_slug=source.slug)


_FILE_PREFIX = re.compile(  # a file citation's prefix (parse.KINDS: 文档, Doc, 图片, …)
    rf"^\s*(?:{'|'.join(re.escape(p) for p, kind in KINDS.items() if kind in ('document', 'image', 'video'))})\s*[:：]\s*",
    re.IGNORECASE,
)


def _file_named(title: str, scope: Scope) -> FileSource | None:
    """The task file a long_context title names, by its name with or without its extension, and
    with or without a file citation's prefix (`[long_context: "Doc: paper.pdf", chunk 2]`)."""
    for name in dict.fromkeys((title, _FILE_PREFIX.sub("", title))):
        if file := scope.files.get(file_key(name)) or scope.stems.get(file_key(name)):
            return file
    return None


def _resolve_long_context(citation: Citation, scope: Scope) -> Resolved:
    """A corpus document by title; else a task file cited as one (`file_as_chunk`, linked to the
    file: a chunk number is not a place in a file); else why neither exists."""
    title = citation.title or ""
    matches = [] if scope.missing_corpus else scope.titles.match(title)
    if len(matches) == 1:
        return _chunk_of(citation, matches[0], scope)
    file = None if matches else _file_named(title, scope)
    if file is not None:
        reason = (
            Reason.of("file_as_chunk_numbered", chunk=citation.chunk)
            if citation.chunk is not None
            else Reason.of("file_as_chunk")
        )
        return _link_file(citation, file, "file_as_chunk", reason)
    if citation.chunk is None and not citation.locator:
        return _unresolved(citation, "malformed", Reason.of("no_chunk_number"))
    unresolved = _find_source(citation, title, scope)
    assert isinstance(unresolved, Resolved)  # a single match was handled above
    return unresolved


def _resolve_file(citation: Citation, scope: Scope) -> Resolved:
    name = citation.file or ""
    if _UNSAFE_NAME.search(name):
        return _unresolved(citation, "malformed", Reason.of("path_in_file_name"))
    key = file_key(name)  # by its name, its name without extension (`[图片: logo]`), or after prose
    file = scope.files.get(key) or scope.stems.get(key) or _named_after_prose(name, scope)
    if file is None:
        near = scope.near_file(key)
        hint = Reason.of("did_you_mean", name=near.name) if near else None
        missing = (
            Reason.of("no_file", name=name, folder=scope.files_folder)
            if scope.files_folder
            else Reason.of("no_file_here", name=name)
        )
        return _unresolved(citation, "missing_file", missing, hint)
    return _link_file(citation, file, "resolved")


# What prose before a file's name ends with when it points to the file (`详见`, `参考`, `see`, `in`).
_POINTING = re.compile(
    r"(?:见|参考|参阅|引自|来自|出自|据|附件|(?<![a-z])(?:see|cf\.?|in|from|per))[\s:：]*$", re.IGNORECASE
)


def _named_after_prose(name: str, scope: Scope) -> FileSource | None:
    """The task file whose whole name ends a cited one after prose that points to it
    (`[DPO公式详解见pdf.pdf, p9]`, `[see logo.png]`), the longest such: only where the name starts a
    word (after a space or punctuation, or where Chinese meets Latin), so `术语表.md` never finds a
    file `表.md`, and only after a word that points (`_POINTING`): `final report.pdf` and
    `旧版report.pdf` name other files than `report.pdf`, and were linked to it."""
    for boundary in _WORD_START.finditer(name):
        if 0 < boundary.start() < len(name) and _POINTING.search(name, 0, boundary.start()):
            file = scope.files.get(file_key(name[boundary.start() :]))
            if file is not None:
                return file
    return None


def _resolve_web(citation: Citation, scope: Scope) -> Resolved:
    url = (citation.title or "").strip()
    if not _URL_SCHEME.match(url):
        return _unresolved(citation, "unknown_source", Reason.of("not_web_address"))
    match = scope.by_url(url)
    if match:
        return Resolved(citation, "resolved", source_path(match.slug), source_slug=match.slug)
    return _unresolved(citation, "unknown_source", Reason.of("no_source_at_url"))


def _resolve_rag(citation: Citation, scope: Scope) -> Resolved:
    title = scope.rag_titles.get(citation.locator or "")
    if title is None:
        return _unresolved(citation, "unknown_source", Reason.of("no_rag_entry", number=citation.locator or ""))
    found = _find_source(citation, title, scope)
    if isinstance(found, Resolved):
        return found
    return Resolved(citation, "resolved", source_path(found.slug), source_slug=found.slug)


def resolve(citation: Citation, scope: Scope) -> Resolved:
    if citation.error:
        return _unresolved(citation, "malformed", citation.error)
    if citation.kind == "long_context":
        return _resolve_long_context(citation, scope)
    if citation.kind in ("document", "image", "video"):
        return _resolve_file(citation, scope)
    if citation.kind == "web":
        return _resolve_web(citation, scope)
    return _resolve_rag(citation, scope)
