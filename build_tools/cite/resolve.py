"""Decide what each citation points at, or say exactly why it points at nothing.

A wrong link is worse than none: titles match only by normalized equality or by the pipeline's
50-character cut; anything fuzzier becomes a suggestion the reader sees, never a link.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ..models import Citation, FileSource, Resolved, Source
from ..paths import chunk_path, source_path

TITLE_CUT = 50  # the pipeline cites titles cut to their first 50 characters
MIN_PREFIX = 8  # a cited title shorter than this must equal a whole title
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")
_PAGE_LOCATOR = re.compile(r"^(?:p\.?|page|第)\s*(\d+)\s*页?$", re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f]|^\.|\.\.")


def normalize_title(title: str) -> str:
    """Strip, NFKC, zero-width and direction marks removed, runs of white space folded."""
    return _SPACES.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFKC", title))).strip()


def title_index(sources: list[Source]) -> dict[str, Source]:
    """Normalized whole titles and 50-character cuts → source, for O(1) look-ups at scale."""
    index: dict[str, Source] = {}
    for source in sources:
        index.setdefault(normalize_title(source.title[:TITLE_CUT]), source)
        index.setdefault(normalize_title(source.title), source)
    return index


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@dataclass
class Scope:
    """What one report can cite: its corpus's documents and its task's files."""

    sources: list[Source]
    chunk_counts: dict[str, int]
    files: dict[str, FileSource] = field(default_factory=dict)
    files_folder: str | None = None
    rag_titles: dict[str, str] = field(default_factory=dict)
    missing_corpus: str | None = None  # why long_context citations cannot resolve at all
    elsewhere: dict[str, Source] = field(default_factory=dict)  # title_index(), for suggestions only

    def __post_init__(self) -> None:
        self._titles = [(normalize_title(s.title), s) for s in self.sources]

    def by_title(self, cited: str) -> list[Source]:
        wanted = normalize_title(cited)
        exact = [s for t, s in self._titles if t == wanted]
        if exact or len(wanted) < MIN_PREFIX:
            return exact
        return [s for t, s in self._titles if t.startswith(wanted)]

    def near_miss(self, cited: str) -> Source | None:
        wanted = normalize_title(cited)
        tolerance = max(2, len(wanted) // 10)
        best = min(
            ((edit_distance(wanted, t[: len(wanted)]), s) for t, s in self._titles),
            key=lambda pair: pair[0],
            default=None,
        )
        return best[1] if best and best[0] <= tolerance else None


def _unresolved(citation: Citation, status: str, reason: str, suggestion: str | None = None) -> Resolved:
    return Resolved(citation, status, None, reason, suggestion)


def _find_source(citation: Citation, title: str, scope: Scope) -> Source | Resolved:
    if scope.missing_corpus:
        known = scope.elsewhere.get(normalize_title(title))
        hint = f"a source titled {known.title!r} exists, but not in this report's corpus" if known else None
        return _unresolved(citation, "unknown_source", scope.missing_corpus, hint)
    matches = scope.by_title(title)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        return _unresolved(citation, "unknown_source", f"ambiguous: {len(matches)} sources in the corpus start with this title")
    near = scope.near_miss(title)
    return _unresolved(
        citation, "unknown_source", "no source in the report's corpus has this title",
        f"did you mean {near.title!r}?" if near else None,
    )


def _resolve_long_context(citation: Citation, scope: Scope) -> Resolved:
    found = _find_source(citation, citation.title or "", scope)
    if isinstance(found, Resolved):
        return found
    count = scope.chunk_counts[found.slug]
    if citation.chunk is None or citation.chunk >= count:
        return Resolved(
            citation, "chunk_out_of_range", None,
            f"{found.title!r} has {count} chunk{'s' if count != 1 else ''} (0–{count - 1})",
            source_slug=found.slug,
        )
    return Resolved(citation, "resolved", chunk_path(found.slug, citation.chunk), source_slug=found.slug)


def _resolve_file(citation: Citation, scope: Scope) -> Resolved:
    name = citation.file or ""
    if _UNSAFE_NAME.search(name):
        return _unresolved(citation, "malformed", "a cited file name must not contain a path")
    file = scope.files.get(unicodedata.normalize("NFKC", name).strip().lower())
    if file is None:
        where = scope.files_folder or "this report's task files"
        near = min(scope.files.values(), key=lambda f: edit_distance(f.name.lower(), name.lower()), default=None)
        hint = f"did you mean {near.name!r}?" if near and edit_distance(near.name.lower(), name.lower()) <= 3 else None
        return _unresolved(citation, "missing_file", f"no file {name!r} in {where}", hint)
    anchor = ""
    page = _PAGE_LOCATOR.match(citation.locator or "")
    if page and file.kind == "pdf" and 1 <= int(page.group(1)) <= len(file.parts):
        anchor = f"#page-{int(page.group(1))}"
    return Resolved(citation, "resolved", source_path(file.slug) + anchor, source_slug=file.slug)


def _resolve_web(citation: Citation, scope: Scope) -> Resolved:
    url = (citation.title or "").strip()
    match = next((s for s in scope.sources if s.meta.get("origin") == url), None)
    if match:
        return Resolved(citation, "resolved", source_path(match.slug), source_slug=match.slug)
    return _unresolved(citation, "unknown_source", "this web page is not in the knowledge base")


def _resolve_rag(citation: Citation, scope: Scope) -> Resolved:
    title = scope.rag_titles.get(citation.locator or "")
    if title is None:
        return _unresolved(citation, "unknown_source", f"no [RAG-{citation.locator}] entry in the report's reference list")
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
