"""What search finds: the knowledge base as search documents, one per chunk, task-file part and
report section, each with the page and anchor a result links to. The index (`index.py`) knows
nothing of the knowledge base beyond these."""

from __future__ import annotations

from . import commonmark
from .clean import cleaned
from .index import SearchDoc
from .knowledge_base import KnowledgeBase
from .messages import CHUNK, SECTION_LABELS
from .models import Resolved
from .paths import chunk_anchor, part_anchor, report_path, source_path
from .render.changes import unchanged
from .render.files import part_label

PIECE = 10_000
"""Most characters of a task file's search document: a part longer than this (a CSV, a sheet, a
long text; rarely a PDF page, whose text is 1,500 to 5,000 characters) is indexed in pieces cut
at line ends, each a document that lands on the part, so no document's size grows with its
file's and the index builds each in bounded memory."""


def report_sections(text: str, items: list[Resolved], section: str, label: str) -> list[tuple[str, str, str]]:
    """(anchor, label, text) for each part of a report between its headings, anchored as the page
    renders them; citation brackets left out (their words would match every report)."""
    spans = commonmark.disjoint((i.citation.start, i.citation.end) for i in items)
    kept = commonmark.replace_spans(text, spans, lambda _, start, end: " " + "\n" * text.count("\n", start, end))
    lines = kept.splitlines(keepends=True)  # line numbers stay those of `text`
    found = commonmark.headings(text, spans, section)
    starts = [0] + [h.line for h in found] + [len(lines)]
    names = [(section, label)] + [(h.anchor, f"{label} · {h.title}") for h in found]
    return [
        (anchor, name, "".join(lines[starts[i] : starts[i + 1]]))
        for i, (anchor, name) in enumerate(names)
        if "".join(lines[starts[i] : starts[i + 1]]).strip()
    ]


def pieces(text: str, most: int = PIECE) -> list[str]:
    """`text` cut into pieces of at most `most` characters, each ending at its last line end (else
    its last space, else where it is full); joined, they are `text`. Linear: the tail a piece leaves
    holds no line end (else no space), so the next piece cannot be cut short inside it again."""
    cut: list[str] = []
    start = 0
    while len(text) - start > most:
        window = start + most
        end = text.rfind("\n", start, window) + 1 or text.rfind(" ", start, window) + 1 or window
        cut.append(text[start:end])
        start = end
    cut.append(text[start:])
    return cut


def chunk_docs(kb: KnowledgeBase, whole: bool = False, slugs: set[str] | None = None) -> list[SearchDoc]:
    """One document per chunk (of the sources `slugs`, or of all), in a stable order, hidden
    boilerplate left out. The index leaves out the overlap a chunk shares with the next one too (a
    phrase there is found in the next chunk, which holds it as well): 13% fewer postings. `whole`
    keeps it, as a reader sees the chunk."""
    docs: list[SearchDoc] = []
    for slug in sorted(kb.chunks if slugs is None else slugs & kb.chunks.keys()):
        source = kb.loaded.sources[slug]
        text = source.text  # made once: a page's chunks each making it was quadratic in its length
        chunks = kb.chunks[slug]
        for number, chunk in enumerate(chunks):
            end = chunks[number + 1].start if number + 1 < len(chunks) and not whole else chunk.end
            kept = cleaned(text, chunk.start, end, kb.removals[slug]).strip()
            docs.append(
                SearchDoc(
                    source_path(slug), source.title, chunk_anchor(chunk.index), CHUNK.format(number=chunk.index), kept
                )
            )
    return docs


def search_docs(kb: KnowledgeBase, chunks: list[SearchDoc] | None = None) -> list[SearchDoc]:
    """One document per chunk (`chunk_docs`, or `chunks` when already made), per page, slide, sheet
    or text of a task file (in `pieces` if long), and per report section (the query, and each part
    of the final and original reports between headings), in a stable order."""
    docs = chunk_docs(kb) if chunks is None else list(chunks)
    for file in sorted(kb.loaded.files.values(), key=lambda f: f.slug):
        for part in file.parts:
            for piece in pieces(part.text):
                if piece.strip():
                    docs.append(
                        SearchDoc(source_path(file.slug), file.name, part_anchor(part), part_label(part), piece)
                    )
    for slug in sorted(kb.cited):
        cited = kb.cited[slug]
        report = cited.report
        sections = [("query", SECTION_LABELS["query"], report.query)] if report.query.strip() else []
        sections += report_sections(report.final, cited.final, "final", SECTION_LABELS["final"])
        if not unchanged(report):  # an unchanged original is not on the page, so not in search either
            sections += report_sections(report.original or "", cited.original, "original", SECTION_LABELS["original"])
        for anchor, label, text in sections:
            docs.append(SearchDoc(report_path(slug), report.title, anchor, label, text))
    return docs
