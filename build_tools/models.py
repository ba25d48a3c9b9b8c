"""The small data types every stage passes along (no behaviour beyond derived fields)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from .messages import Reason


def content_hash(text: str, length: int = 16) -> str:
    """Stable id of a piece of text: the lock file and chunk ids depend on it never changing."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def document_text(title: str, body: str) -> str:
    """The text the pipeline chunks: title, blank line, body (just the body without a title)."""
    return f"{title}\n\n{body}" if title else body


@dataclass(frozen=True)
class Problem:
    """A defect in the input, reported with where it is so a person can fix it."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Chunk:
    """One retriever chunk: `text` is exactly `document[start:end].strip()`."""

    index: int
    start: int
    end: int
    text: str

    @cached_property  # chunks outlive a rebuild while serving (knowledge_base.Memo)
    def id(self) -> str:
        return content_hash(self.text)


@dataclass(frozen=True)
class Removal:
    """A span of a document hidden as boilerplate, and the rule that hid it."""

    start: int
    end: int
    rule: str


@dataclass
class Source:
    """A scraped text document; `text` is what the pipeline chunked."""

    slug: str
    title: str
    body: str
    origins: list[str] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return document_text(self.title, self.body)

    def window(self, start: int, end: int) -> str:
        """`text[start:end]` without making the whole text: a report citing one long page a
        thousand times would otherwise copy it a thousand times."""
        head = f"{self.title}\n\n" if self.title else ""
        if start >= len(head):
            return self.body[start - len(head) : max(end - len(head), 0)]  # an end before the body: empty
        return head[start:end] + self.body[: max(end - len(head), 0)]


@dataclass(frozen=True)
class FilePart:
    """One place in a task file a locator can name: a PDF page, a slide, a sheet (or the whole text).

    `text` is what the pipeline extracted for this part; `rows` holds a sheet/CSV as a table (capped:
    `total_rows` says how many there were)."""

    kind: str  # "page" | "slide" | "sheet" | "text"
    number: int  # 1-based position among the file's parts
    text: str
    name: str | None = None  # a sheet's name
    rows: tuple[tuple[str, ...], ...] | None = None
    total_rows: int | None = None


@dataclass
class FileSource:
    """An uploaded task file (PDF, office file, image, video...) cited as `[文档: …]` / `[图片: …]`."""

    slug: str
    name: str
    path: str  # relative to the knowledge-base root
    kind: str  # ingest.FILE_KINDS: "pdf", "pptx", "xlsx", "docx", "csv", "html", "text", "image", "video"; or "other"
    task: str | None = None
    parts: list[FilePart] = field(default_factory=list)
    disk: str | None = None  # the path on disk, when its name is not shown as is (reading.shown escapes it in `path`)
    inline: bytes | None = None  # an image published as text (an SVG): its bytes, which its page and previews show

    @property
    def stored(self) -> str:
        """Where the file is, relative to the knowledge-base root: what the site publishes."""
        return self.disk or self.path

    def numbered(self, number: int | None) -> FilePart | None:
        """The part whose `FilePart.number` is `number` (an audit's `part`), if any."""
        return next((part for part in self.parts if part.number == number), None)


@dataclass
class Corpus:
    """A pipeline corpus file: the ordered documents a report's retriever numbered."""

    key: str  # path relative to the knowledge-base root, without ".json"
    task: str | None
    slugs: list[str]


@dataclass
class Report:
    """One pipeline run's report: the final text, and the pre-validation text when known."""

    slug: str
    title: str
    path: str
    final: str
    original: str | None = None
    query: str = ""
    task: str | None = None
    corpus: str | None = None  # Corpus.key
    files: str | None = None  # folder of task files, relative to the knowledge-base root
    meta: dict[str, str | dict] = field(default_factory=dict)  # a dict is a reason `kb import` recorded (Reason.read)
    subtitle: str = ""  # the report's own first line, when the title is the run's


@dataclass(frozen=True)
class Citation:
    """One cited item as written in a report (one bracket may hold several)."""

    kind: str  # long_context | document | image | video | web | rag
    raw: str
    start: int
    end: int
    title: str | None = None
    chunk: int | None = None
    file: str | None = None
    locator: str | None = None
    error: Reason | None = None  # set when the citation is malformed


@dataclass(frozen=True)
class Resolved:
    """A citation with its verdict; `target` is a site path (with anchor) or None."""

    citation: Citation
    status: str  # resolved | unknown_source | chunk_out_of_range | missing_file | malformed | file_as_chunk | locator_out_of_range
    target: str | None = None
    reason: Reason | None = None
    suggestion: Reason | None = None
    source_slug: str | None = None


# Audit statuses the site shows as a flag beside the citation: every status but `supported`
# (together 13% of the full pipeline's written citations, BENCHMARKS.md).
FLAGGED = ("weak", "better_elsewhere", "numbers_missing", "other_language", "title_only", "no_statement")


@dataclass(frozen=True)
class Audit:
    """How well a resolved citation's passage (a corpus chunk, a task file's page, slide or sheet)
    supports the claim it is attached to (`build_tools/audit/`): the verdict, the share of the
    claim's key facts it states, and why."""

    status: (
        str  # supported | weak | better_elsewhere | numbers_missing | other_language | title_only | no_statement: why
    )
    support: float  # 0..1: the share of the claim's key facts the passage states (`audit.Facts.support`)
    claim: str
    span: tuple[int, int] | None  # the supporting sentence(s), offsets in the chunk's text; none when unsupported
    missing: tuple[str, ...] = ()  # the claim's key facts (numbers, names, rare words) the cited passage lacks
    better: tuple[str, int] | None = None  # (source slug, chunk index) of a chunk that supports it better
    better_span: tuple[int, int] | None = None
    better_terms: tuple[str, ...] = ()  # the claim's words and numbers found there, not in the cited chunk
    verdict: str = "supported"  # VERDICTS: does the passage state the claim's key facts (issue 27)
    held: tuple[str, ...] = ()  # the claim's key facts the cited passage states
    part: int | None = None  # a file citation's: the page, slide or sheet (FilePart.number) checked, the span's


# What a careful reader would say of a citation's passage (issue 27): it states the claim's key
# facts, some of them (`missing` names the rest), or none (on the topic at best).
VERDICTS = ("supported", "partial", "unsupported")
