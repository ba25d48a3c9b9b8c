"""Take the checked report out (issue 28, 8): the final report with each citation as a footnote,
as Markdown or DOCX, and its citation table, one row per citation, as CSV or JSON.

Pure: a report, the knowledge base and the report's audits in, bytes out. The report is read by
the site's own parser (`commonmark.citation_tokens`), so a citation becomes a footnote where the
page places it, code stays code, raw HTML stays text and a link goes only where the page's may
(and off the site: to the web or mail). Every string from the input is written as text: escaped
for Markdown (`md_text`), as XML text in the DOCX (never a field, a style or a link, but for the
source's original URL), and a CSV cell that would start a formula (= + - @, a tab or CR) gets a
leading `'`, as OWASP advises against CSV injection.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace

from markdown_it.common.utils import isMdAsciiPunct, isPunctChar, isWhiteSpace
from markdown_it.token import Token

from .audit import report_claims
from .commonmark import CITATION_SLOT, citation_tokens, disjoint
from .knowledge_base import CitedReport, KnowledgeBase
from .messages import EXPORT, FAILURE_LABELS, KIND_LABELS, META_LABELS, STATUS_LABELS, VERDICT_LABELS
from .models import Audit, Resolved
from .paths import export_path, file_part
from .render.citations import why
from .render.files import part_label
from .stats import failure

FORMATS = ("md", "docx", "csv", "json")
NOTE_SPAN = 300  # characters of the supporting span quoted in a footnote (the table has it whole)
HEADER_META = ("model", "context", "bench", "run", "generated")  # report.yaml fields named in the header


@dataclass(frozen=True)
class Row:
    """One citation of the final report, as the citation table has it (README: the fields)."""

    n: int | None  # its footnote's number in the Markdown and DOCX (None: it overlaps another citation)
    kind: str  # long_context | document | image | video | web | rag
    raw: str  # as written in the report
    status: str  # the cite stage's: resolved, unknown_source, …
    verdict: str | None  # supported | partial | unsupported; None where nothing was checked
    title: str  # the cited source's title or file's name; what was cited when it resolved to nothing
    chunk: int | None
    locator: str | None  # a file's page, slide or sheet as written
    url: str  # the source's original URL (a web citation's own address when it resolved to nothing)
    span: str  # the supporting span, from the chunk's text
    span_start: int | None  # its offsets in the chunk's text
    span_end: int | None
    claim: str  # what the citation is taken to support
    missing: tuple[str, ...]  # the claim's key facts the cited passage lacks
    reason: str  # why it did not resolve (Chinese, as the site says it)


FIELDS = tuple(f.name for f in fields(Row))

Inline = tuple[str, str | int | None]  # (text | code | mark | soft | hard | open | close | link | unlink | note, value)


@dataclass(eq=False)
class Container:
    """A block quote or a list item the blocks inside it share (by identity)."""

    kind: str  # quote | item
    marker: str = ""  # an item's `-`, `*`, `+` or `3.`, `3)`


@dataclass
class Block:
    """One block of the report: a heading, paragraph, code block, table or rule, in its containers."""

    kind: str
    containers: tuple[Container, ...]
    inline: list[Inline] = field(default_factory=list)
    level: int = 0  # a heading's
    tight: bool = False  # a paragraph of a tight list: no blank line between its items
    code: str = ""
    info: str = ""  # a fenced code block's language
    rows: list[list[list[Inline]]] = field(default_factory=list)  # a table's, header row first


@dataclass(frozen=True)
class Note:
    """A citation's footnote: its number, its row, the mark shown in the text before the reference,
    and its text as parts: (text | mark | url, text)."""

    n: int
    row: Row
    mark: str
    parts: tuple[tuple[str, str], ...]


@dataclass
class Exported:
    """A report ready to write in any format."""

    title: str
    header: list[str]  # plain lines under the title: the run, the counts, how to read the marks
    blocks: list[Block]
    notes: list[Note]  # by number
    rows: list[Row]  # by citation, in the report's order


def export(kb: KnowledgeBase, cited: CitedReport, audits: list[Audit | None] | None, format: str) -> bytes:
    """The report in `format` (FORMATS)."""
    exported = read(kb, cited, audits)
    if format == "md":
        return markdown(exported).encode("utf-8", "replace")
    if format == "docx":
        return docx_bytes(exported)
    if format == "csv":
        return csv_bytes(exported.rows)
    if format == "json":
        return json_bytes(exported.rows)
    raise ValueError(f"no export format {format!r}")


def site_files(kb: KnowledgeBase, cited: CitedReport, audits: list[Audit | None] | None) -> dict[str, bytes]:
    """What the site publishes beside a report's page (`paths.export_path`): its Markdown and its
    citation table. Not the DOCX: it costs ten times as much per report (BENCHMARKS.md); `kb export`
    makes it."""
    exported = read(kb, cited, audits)
    slug = cited.report.slug
    return {
        export_path(slug, "md"): markdown(exported).encode("utf-8", "replace"),
        export_path(slug, "csv"): csv_bytes(exported.rows),
    }


# ---------------------------------------------------------------- reading a report


def read(kb: KnowledgeBase, cited: CitedReport, audits: list[Audit | None] | None) -> Exported:
    """The report's blocks with each citation bracket replaced by its footnotes, numbered in the
    order a reader meets them; one row per citation."""
    report, items = cited.report, cited.final
    audits = list(audits) if audits else [None] * len(items)
    spans = disjoint((item.citation.start, item.citation.end) for item in items)
    at = {span: k for k, span in enumerate(spans)}
    groups: list[list[int]] = [[] for _ in spans]
    for i, item in enumerate(items):
        k = at.get((item.citation.start, item.citation.end))
        if k is not None:
            groups[k].append(i)
    rows = [
        row(kb, item, audit, claim) for item, audit, claim in zip(items, audits, report_claims(report.final, items))
    ]
    numbers: dict[int, int] = {}

    def place(k: int) -> list[Inline]:
        placed: list[Inline] = []
        for i in groups[k]:
            numbers[i] = len(numbers) + 1
            if mark(rows[i]):
                placed.append(("mark", mark(rows[i])))
            placed.append(("note", numbers[i]))
        return placed

    slots = {CITATION_SLOT.format(k): k for k in range(len(spans))}
    blocks = report_blocks(citation_tokens(report.final, spans), slots, place)
    rows = [replace(r, n=numbers.get(i)) for i, r in enumerate(rows)]
    notes = sorted(
        (Note(n, rows[i], mark(rows[i]), note_parts(kb, items[i], rows[i], audits[i])) for i, n in numbers.items()),
        key=lambda note: note.n,
    )
    return Exported(report.title, header(cited, rows), blocks, notes, rows)


def row(kb: KnowledgeBase, item: Resolved, audit: Audit | None, claim: str) -> Row:
    citation = item.citation
    source = kb.loaded.sources.get(item.source_slug or "")
    file = kb.files_by_slug.get(item.source_slug or "")
    title = source.title if source else file.name if file else citation.title or citation.file or ""
    url = source.meta.get("origin", "") if source else citation.title or "" if citation.kind == "web" else ""
    span, start, end = "", None, None
    if audit and audit.span:  # offsets in the chunk, or in the file's page, slide or sheet checked
        chunks = kb.chunks.get(source.slug, []) if source else []
        if citation.chunk is not None and citation.chunk < len(chunks):
            start, end = audit.span
            span = chunks[citation.chunk].text[start:end]
        elif file and audit.part is not None:
            start, end = audit.span
            checked = file.numbered(audit.part)
            span = checked.text[start:end] if checked else ""
    return Row(
        None,
        citation.kind,
        citation.raw,
        item.status,
        audit.verdict if audit else None,
        title,
        citation.chunk,
        citation.locator,
        url,
        span,
        start,
        end,
        audit.claim if audit else claim,
        tuple(audit.missing) if audit else (),
        why(item) if item.status != "resolved" else "",
    )


def mark(row: Row) -> str:
    """What the text shows before an unresolved, unsupported or partly supported citation."""
    if row.status != "resolved":
        return EXPORT["mark_status"].format(status=STATUS_LABELS[row.status])
    if row.verdict == "unsupported":
        return EXPORT["mark_unsupported"]
    if row.verdict == "partial":
        return EXPORT["mark_partial"]
    return ""


def one_line(text: str) -> str:
    return " ".join(text.split())


def sentence(text: str) -> str:
    """`text` ended as a sentence: a full stop unless it ends in one (inside closing quotes too)."""
    return text if text.rstrip("”」』）)").endswith(("。", "！", "？", ".", "!", "?")) else text + "。"


def note_parts(kb: KnowledgeBase, item: Resolved, row: Row, audit: Audit | None) -> tuple[tuple[str, str], ...]:
    """A footnote: what is cited (source title and chunk, or file and page; of a whole file, the
    place its audit checked), why it did not resolve, the supporting span quoted, the original
    URL, the verdict (and the facts missing)."""
    parts: list[tuple[str, str]] = [("mark", mark(row))] if mark(row) else []
    sentences: list[str] = []
    file = kb.files_by_slug.get(item.source_slug or "")
    if not item.target:  # cites nothing: what was written, and why
        sentences += [EXPORT["unresolved"].format(raw=row.raw), EXPORT["reason"].format(reason=row.reason)]
        return (*parts, ("text", one_line("".join(map(sentence, sentences)))))
    if file:
        part = file_part(file, item.target)
        kind = KIND_LABELS[row.kind] if row.kind in ("document", "image", "video") else EXPORT["task_file"]
        cited = EXPORT["file"].format(kind=kind, name=file.name)
        if part:
            cited += f"，{part_label(part)}"
        elif audit and (checked := file.numbered(audit.part)):
            cited += EXPORT["checked"].format(part=part_label(checked))
        sentences.append(cited)
    elif row.kind == "long_context" and row.chunk is not None:
        sentences.append(EXPORT["source"].format(title=row.title) + "，" + EXPORT["chunk"].format(chunk=row.chunk))
    else:
        sentences.append(EXPORT["source"].format(title=row.title))
    if row.status != "resolved":
        sentences.append(EXPORT["reason"].format(reason=row.reason))
    if row.span:
        quoted = row.span if len(row.span) <= NOTE_SPAN else row.span[: NOTE_SPAN - 1] + "…"
        sentences.append(EXPORT["span"].format(span=quoted))
    elif row.verdict in ("partial", "unsupported"):
        sentences.append(EXPORT["no_span"])
    parts.append(("text", one_line("".join(map(sentence, sentences)))))
    if row.url:
        parts += [("text", EXPORT["url"]), ("url", one_line(row.url)), ("text", "。")]
    if row.verdict:
        verdict = EXPORT["verdict"].format(verdict=VERDICT_LABELS.get(row.verdict, row.verdict))
        if row.missing and row.verdict != "supported":
            verdict += "；" + EXPORT["missing"].format(facts="、".join(row.missing))
        parts.append(("text", one_line(sentence(verdict))))
    else:
        parts.append(("text", EXPORT["unchecked"] + "。"))
    return tuple(parts)


def header(cited: CitedReport, rows: list[Row]) -> list[str]:
    """The lines under the title: task and run, the citations by status and verdict, the marks."""
    report = cited.report
    run = [f"{META_LABELS['task']} {report.task}"] if report.task else []
    for key in HEADER_META:
        value = report.meta.get(key)
        if isinstance(value, str) and value:
            run.append(f"{META_LABELS.get(key, key)} {value}")
    statuses = Counter(r.status for r in rows)
    verdicts = Counter(r.verdict for r in rows if r.verdict)
    lines = [one_line(" · ".join(run))] if run else []
    why = failure(report.final)
    if why:
        lines.append(FAILURE_LABELS[why] + "。")
    if why != "no_output" and rows:
        counts = " · ".join(f"{label} {statuses[s]}" for s, label in STATUS_LABELS.items() if statuses[s])
        lines.append(EXPORT["citations"].format(count=len(rows), counts=counts))
    elif why != "no_output":
        lines.append(EXPORT["no_citations"])
    if verdicts:
        counts = " · ".join(f"{label} {verdicts[v]}" for v, label in VERDICT_LABELS.items() if verdicts[v])
        lines.append(EXPORT["verdicts"].format(counts=counts))
    lines.append(EXPORT["lead"])
    return lines


def heading_level(markup: str) -> int:
    """An ATX heading's level by its `#`s; a setext one's by its underline (= 1, - 2)."""
    return len(markup) if markup.startswith("#") else 1 if markup.startswith("=") else 2


def report_blocks(tokens: list[Token], slots: dict[str, int], place: Callable[[int], list[Inline]]) -> list[Block]:
    """The report's blocks from the page's tokens; a citation slot becomes `place(k)`."""
    blocks: list[Block] = []
    stack: list[Container] = []
    pending: Block | None = None  # a heading or paragraph waiting for its inline token
    table: Block | None = None
    for token in tokens:
        kind = token.type
        if kind == "blockquote_open":
            stack.append(Container("quote"))
        elif kind == "list_item_open":
            stack.append(Container("item", token.info + token.markup))
        elif kind in ("blockquote_close", "list_item_close"):
            stack.pop()
        elif kind == "heading_open":
            pending = Block("heading", tuple(stack), level=heading_level(token.markup))
        elif kind == "paragraph_open":
            pending = Block("paragraph", tuple(stack), tight=token.hidden)
        elif kind == "table_open":
            table = Block("table", tuple(stack))
        elif kind == "tr_open" and table is not None:
            table.rows.append([])
        elif kind == "table_close" and table is not None:
            blocks.append(table)
            table = None
        elif kind == "inline":
            inline = inline_events(token.children or [], slots, place)
            if table is not None and table.rows:
                table.rows[-1].append(inline)
            elif pending is not None:
                pending.inline = inline
                blocks.append(pending)
                pending = None
        elif kind in ("fence", "code_block"):
            blocks.append(Block("code", tuple(stack), code=token.content, info=token.info.strip()))
        elif kind == "hr":
            blocks.append(Block("rule", tuple(stack)))
    return blocks


_OFF_SITE = re.compile(r"(?:https?|mailto):[^\s\x00-\x20\x7f<>\\\"]+", re.IGNORECASE)  # also a valid autolink
_STYLES = {"strong", "em", "s"}


def inline_events(
    children: Iterable[Token], slots: dict[str, int], place: Callable[[int], list[Inline]]
) -> list[Inline]:
    """A paragraph's (heading's, cell's) inline tokens as events. A link stays a link only to the
    web or mail (the site's own paths mean nothing outside it); an image is its alt text."""
    events: list[Inline] = []
    for child in children:
        kind = child.type
        if kind == "text":
            events.append(("text", child.content))
        elif kind == "code_inline":
            events.append(("code", child.content))
        elif kind in ("softbreak", "hardbreak"):
            events.append((kind[:4], None))
        elif kind.endswith(("_open", "_close")) and kind.rsplit("_", 1)[0] in _STYLES:
            style, _, end = kind.rpartition("_")
            events.append(("open" if end == "open" else "close", style))
        elif kind == "link_open":
            href = str(child.attrGet("href") or "")
            events.append(("link", href if _OFF_SITE.fullmatch(href) else None))
        elif kind == "link_close":
            events.append(("unlink", None))
        elif kind == "image":
            events.append(("text", "".join(grand.content for grand in child.children or [])))
        elif kind == "html_inline" and child.content in slots:
            events += place(slots[child.content])
        # any other html_inline is the page's heading permalink: not the report's
    return events


# ---------------------------------------------------------------- Markdown


_MD_ACTIVE = re.compile(r"[\\`*_\[\]{}<>&|~#$]")
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
_LINE_START = re.compile(r"^(?:([-+=])|(\d+)([.)]))")
_MD_DELIMITERS = {"strong": "**", "em": "*", "s": "~~"}
_BACKTICKS = re.compile(r"`+")
_INFO = re.compile(r"[\w+#.-]*")


def md_text(text: str) -> str:
    """Text that CommonMark (and GFM) reads back as exactly this text: every character that could
    start markup, an entity, HTML, a footnote or math escaped; nothing else touched."""
    return _MD_ACTIVE.sub(lambda m: _MD_ENTITIES.get(m.group(), "\\" + m.group()), text)


def md_line_start(text: str) -> str:
    """Escaped text at the start of a line: `-`, `+`, `=` and `1.` would start a list or underline."""
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1) else f"{m.group(2)}\\{m.group(3)}", text, 1)


def md_code(text: str, in_table: bool) -> str:
    """An inline code span holding exactly `text` (its fence longer than any run of backticks in it)."""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = text.startswith(("`", " ")) or text.endswith(("`", " "))
    pad = pad and bool(text.strip(" ")) or text.startswith("`") or text.endswith("`")
    if in_table:
        text = text.replace("|", "\\|")  # GFM splits a row at every unescaped pipe, in code too
    return f"{fence} {text} {fence}" if pad else f"{fence}{text}{fence}"


def _loose(char: str) -> bool:
    """Whether a delimiter beside `char` may open or close whatever is on its other side: space or
    punctuation, as CommonMark's flanking rules read it (markdown-it's own helpers)."""
    return isWhiteSpace(ord(char)) or isMdAsciiPunct(ord(char)) or isPunctChar(char)


def _edges(events: list[Inline], step: int) -> list[tuple[str, str]]:
    """For each event, the kind and the character of what the Markdown shows first from it on,
    going `step` (style delimiters passed over; a line's edge is a space): one pass for them all
    (a walk from each delimiter was quadratic in nested styles: `***…x…***`)."""
    edges: list[tuple[str, str]] = [_NOTHING_SHOWN] * len(events)
    found = _NOTHING_SHOWN
    for at in range(len(events) - 1, -1, -1) if step > 0 else range(len(events)):
        kind, value = events[at]
        if kind in ("text", "mark"):
            shown = str(value)
        else:  # an off-site link's `[`, and its `](<…>)`, are punctuation: passing over them only drops more
            shown = {"note": "[^]", "code": "`", "soft": " ", "hard": " "}.get(kind, "")
        if shown:
            found = (kind, shown[0] if step > 0 else shown[-1])
        edges[at] = found
    return edges


_NOTHING_SHOWN = ("", " ")


def _expressible(events: list[Inline]) -> list[Inline]:
    """Events without the style pairs Markdown cannot write: a delimiter between a citation's mark
    or footnote reference (punctuation at both ends) and a letter neither opens nor closes. On the
    page the citation was a slot, which CommonMark reads as a letter, so the report's `*…*` around
    it held there (`*[图片: a.png]*0`); the export keeps its text, not its style."""
    if not any(kind == "open" for kind, _ in events):
        return events
    ahead, behind = _edges(events, 1), _edges(events, -1)

    def edge(edges: list[tuple[str, str]], at: int) -> tuple[str, str]:
        return edges[at] if 0 <= at < len(edges) else _NOTHING_SHOWN

    stack, dropped = [], set()
    for n, (kind, _) in enumerate(events):
        if kind == "open":
            stack.append(n)
        elif kind == "close" and stack:
            opened = stack.pop()
            inside, before = edge(ahead, opened + 1), edge(behind, opened - 1)[1]
            last, after = edge(behind, n - 1), edge(ahead, n + 1)[1]
            if (inside[0] in _PLACED and not _loose(before)) or (last[0] in _PLACED and not _loose(after)):
                dropped |= {opened, n}
    return [event for n, event in enumerate(events) if n not in dropped] if dropped else events


_PLACED = ("note", "mark")  # what a citation becomes in the Markdown


def md_inline(events: list[Inline], in_table: bool = False, one_line_only: bool = False) -> str:
    events = _expressible(events)
    out: list[str] = []
    line_start, after_note = True, False
    links: list[str | None] = []
    for kind, value in events:
        piece = ""
        if kind in ("text", "mark"):
            piece = md_text(str(value))
            if line_start:
                piece = md_line_start(piece)
            if after_note and piece.startswith(":"):  # `[^3]:` at a line's start defines a footnote
                piece = "\\" + piece
        elif kind == "code":
            piece = md_code(str(value), in_table)
        elif kind in ("open", "close"):
            piece = _MD_DELIMITERS[str(value)]
        elif kind == "soft":
            out.append(" " if one_line_only else "\n")
            line_start, after_note = not one_line_only, False
            continue
        elif kind == "hard":
            out.append(" " if one_line_only else "\\\n")
            line_start, after_note = not one_line_only, False
            continue
        elif kind == "link":
            links.append(str(value) if value else None)
            piece = "[" if value else ""
        elif kind == "unlink":
            href = links.pop() if links else None
            piece = f"](<{href}>)" if href else ""
        elif kind == "note":
            piece = f"[^{value}]"
        if piece:
            out.append(piece)
            line_start, after_note = False, kind == "note"
    return "".join(out)


def md_block(block: Block) -> list[str]:
    """A block's lines, without its containers' prefixes."""
    if block.kind == "heading":
        return ["#" * block.level + (" " + md_inline(block.inline, one_line_only=True)).rstrip()]
    if block.kind == "paragraph":
        return md_inline(block.inline).split("\n")
    if block.kind == "code":
        fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(block.code)), default=0) + 1)
        info = block.info if _INFO.fullmatch(block.info) else ""
        return [fence + info, *block.code.removesuffix("\n").split("\n"), fence] if block.code else [fence, fence]
    if block.kind == "rule":
        return ["___"]  # not `---` or `***`: after an item's `-` or `*` marker they would be a rule themselves
    width = max(len(cells) for cells in block.rows)
    lines = []
    for n, cells in enumerate(block.rows):
        texts = [md_inline(cell, in_table=True, one_line_only=True) for cell in cells] + [""] * (width - len(cells))
        lines.append("| " + " | ".join(texts) + " |")
        if n == 0:
            lines.append("|" + " --- |" * width)
    return lines


def md_prefixes(containers: tuple[Container, ...], started: set[int]) -> tuple[str, str]:
    """The prefixes of a block's first line and of its other lines: `> ` for a quote, an item's
    marker on the first line of its first block, spaces as wide as the marker after that."""
    first = rest = ""
    for container in containers:
        if container.kind == "quote":
            first, rest = first + "> ", rest + "> "
            continue
        pad = " " * (len(container.marker) + 1)
        first += pad if id(container) in started else container.marker + " "
        rest += pad
        started.add(id(container))
    return first, rest


def markdown(exported: Exported) -> str:
    """The report as Markdown (CommonMark with GFM footnotes and tables): the title and header, the
    report with `[^n]` after each citation's place, and the footnotes at the end."""
    out = ["# " + md_line_start(md_text(one_line(exported.title))), ""]
    for line in exported.header:
        out += [md_line_start(md_text(line)), ""]
    out += ["---", ""]
    started: set[int] = set()
    previous: Block | None = None
    for block in exported.blocks:
        if previous is not None and not (block.tight and previous.tight):
            shared = []
            for before, now in zip(previous.containers, block.containers):
                if before is not now:
                    break
                shared.append(now)
            out.append("".join("> " for c in shared if c.kind == "quote").rstrip())
        first, rest = md_prefixes(block.containers, started)
        lines = md_block(block)
        out.append(first + lines[0])
        out += [rest + line if line else rest.rstrip() for line in lines[1:]]
        previous = block
    if exported.notes:
        out.append("")
    for note in exported.notes:
        text = "".join(
            f"<{value}>" if kind == "url" and _OFF_SITE.fullmatch(value) else md_text(value)
            for kind, value in note.parts
        )
        out.append(f"[^{note.n}]: {text}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- DOCX


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_RUN_BREAKS = re.compile("([\t\n])")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MARK_COLOUR = "C00000"
LINK_COLOUR = (0x05, 0x63, 0xC1)
MONOSPACE = "Courier New"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # every member's date: the same report makes the same bytes


def xml_text(text: str) -> str:
    """Text an XML 1.0 document can hold: controls (but tab and line ends) and non-characters as U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def add(parent, tag: str, **attributes: str):
    """A new last child `w:tag` of `parent`, with `w:` attributes."""
    child = parent.makeelement(W + tag, {W + name: value for name, value in attributes.items()})
    parent.append(child)
    return child


def add_run(parent, text: str = "", style: str | None = None, on: Iterable[str] = ()):
    """A run of `text` (a tab and a line end as Word's own), styled by a character style id and
    `on`: strong, em, s, code, mark; its properties in the order the schema wants them."""
    run = add(parent, "r")
    on = set(on)
    if style or on:
        properties = add(run, "rPr")
        if style:
            add(properties, "rStyle", val=style)
        if "code" in on:
            add(properties, "rFonts", ascii=MONOSPACE, hAnsi=MONOSPACE)
        if on & {"strong", "mark"}:
            add(properties, "b")
        if "em" in on:
            add(properties, "i")
        if "s" in on:
            add(properties, "strike")
        if "mark" in on:
            add(properties, "color", val=MARK_COLOUR)
    for piece in _RUN_BREAKS.split(xml_text(text)) if text else ():
        if piece in ("\t", "\n"):
            add(run, "tab" if piece == "\t" else "br")
        elif piece:
            add(run, "t").text = piece
            run[-1].set(XML_SPACE, "preserve")
    return run


def docx_bytes(exported: Exported) -> bytes:
    """The report as a Word document: title and header, the report's headings, paragraphs, lists,
    quotes, tables and code, and each citation a real footnote (footnotes.xml, its relationship and
    content type, a `w:footnoteReference` in the text), which python-docx has no API for. Runs are
    written as XML (python-docx's property setters cost a millisecond each)."""
    import docx  # python-docx: only this export needs it (a build or another `kb` verb does not)
    from docx.enum.style import WD_STYLE_TYPE
    from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import XmlPart
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls
    from docx.shared import Pt, RGBColor

    document = docx.Document()
    styles = document.styles
    footnote_text = styles.add_style("Footnote Text", WD_STYLE_TYPE.PARAGRAPH)
    footnote_text.base_style = styles["Normal"]
    footnote_text.font.size = Pt(9)
    footnote_text.paragraph_format.space_after = Pt(0)
    styles.add_style("Footnote Reference", WD_STYLE_TYPE.CHARACTER).font.superscript = True
    hyperlink = styles.add_style("Hyperlink", WD_STYLE_TYPE.CHARACTER)
    hyperlink.font.color.rgb = RGBColor(*LINK_COLOUR)
    hyperlink.font.underline = True
    add(styles["Normal"].element.get_or_add_rPr(), "lang", eastAsia="zh-CN")
    settings = document.settings.element
    settings.find(W + "themeFontLang").set(W + "eastAsia", "zh-CN")
    separators = parse_xml(f'<w:footnotePr {nsdecls("w")}><w:footnote w:id="-1"/><w:footnote w:id="0"/></w:footnotePr>')
    settings.find(W + "compat").addprevious(separators)  # CT_Settings: footnotePr comes before compat
    footnotes = XmlPart(
        PackURI("/word/footnotes.xml"),
        CONTENT_TYPE.WML_FOOTNOTES,
        parse_xml(
            f"<w:footnotes {nsdecls('w', 'r')}>"
            + "".join(
                f'<w:footnote w:type="{kind}" w:id="{n}"><w:p><w:pPr><w:spacing w:after="0" w:line="240" '
                f'w:lineRule="auto"/></w:pPr><w:r><w:{kind}/></w:r></w:p></w:footnote>'
                for n, kind in ((-1, "separator"), (0, "continuationSeparator"))
            )
            + "</w:footnotes>"
        ),
        document.part.package,
    )
    document.part.relate_to(footnotes, RELATIONSHIP_TYPE.FOOTNOTES)
    section = document.element.body[-1]  # w:sectPr: the body's blocks go before it

    def paragraph(style: str | None = None, into=None):
        if into is None:
            element = section.makeelement(W + "p", {})
            section.addprevious(element)
        else:
            element = add(into, "p")
        if style:
            add(add(element, "pPr"), "pStyle", val=style)
        return element

    relationships: dict[tuple[str, str], str] = {}

    def link(element, url: str, part):
        """A hyperlink to `url` (a relationship of the part it is in, one per address) to put runs
        in. Ids are numbered here: python-docx's `relate_to` looks through every relationship of
        the part for each new one, quadratic in a report citing thousands of addresses."""
        key = (str(part.partname), url)
        if key not in relationships:
            relationships[key] = f"rIdCitekbLink{len(relationships) + 1}"
            part.rels.add_relationship(RELATIONSHIP_TYPE.HYPERLINK, url, relationships[key], is_external=True)
        hyperlink = add(element, "hyperlink")
        hyperlink.set(R_ID, relationships[key])
        return hyperlink

    def write_inline(element, events: list[Inline], bold: bool = False) -> None:
        on: set[str] = {"strong"} if bold else set()
        into, previous = element, None
        for kind, value in events:
            if kind == "note" and previous == "note":  # ⁷,⁸ rather than ⁷⁸
                add_run(into, ",", "FootnoteReference")
            previous = kind
            if kind in ("open", "close"):
                (on.add if kind == "open" else on.discard)(str(value))
            elif kind == "link":
                into = link(element, str(value), document.part) if value else element
            elif kind == "unlink":
                into = element
            elif kind == "note":
                add(add_run(into, style="FootnoteReference"), "footnoteReference", id=str(value))
            elif kind == "hard":
                add_run(into, "\n")
            else:
                text = " " if kind == "soft" else str(value)
                extra = {"code"} if kind == "code" else {"mark"} if kind == "mark" else set()
                add_run(into, text, "Hyperlink" if into is not element else None, on | extra)

    started: set[int] = set()

    def paragraph_style(block: Block) -> str | None:
        """Bullet items by depth, ordered ones and later blocks of an item indented (an ordered
        item's number is written: Word's list numbering would run on across lists), quotes."""
        items = [c for c in block.containers if c.kind == "item"]
        if not items:
            return "Quote" if block.containers else None
        depth = "" if len(items) == 1 else str(min(len(items), 3))
        first = id(items[-1]) not in started
        started.update(id(c) for c in items)
        return f"ListBullet{depth}" if first and not items[-1].marker[:1].isdigit() else f"ListContinue{depth}"

    title = xml_text(one_line(exported.title))
    document.core_properties.title = title
    add_run(paragraph("Title"), title)
    for line in exported.header:
        add_run(paragraph(), line)
    for block in exported.blocks:
        if block.kind == "heading":
            write_inline(paragraph(f"Heading{min(block.level, 9)}"), block.inline)
        elif block.kind == "paragraph":
            item = next((c for c in reversed(block.containers) if c.kind == "item"), None)
            number = item.marker if item and id(item) not in started and item.marker[:1].isdigit() else ""
            element = paragraph(paragraph_style(block))
            if number:
                add_run(element, number + " ")
            write_inline(element, block.inline)
        elif block.kind == "code":
            add_run(paragraph(paragraph_style(block)), block.code.removesuffix("\n"), on={"code"})
        elif block.kind == "rule":
            add_run(paragraph(paragraph_style(block)), "* * *")
        else:
            paragraph_style(block)
            width = max(len(cells) for cells in block.rows)
            table = document.add_table(rows=0, cols=width)
            table.style = "Table Grid"
            for n, cells in enumerate(block.rows):
                for cell, events in zip(table.add_row().cells, cells):
                    write_inline(cell.paragraphs[0]._p, events, bold=n == 0)
    for note in exported.notes:
        element = paragraph("FootnoteText", add(footnotes.element, "footnote", id=str(note.n)))
        add(add_run(element, style="FootnoteReference"), "footnoteRef")
        add_run(element, " ")
        for kind, value in note.parts:
            if kind == "url" and _OFF_SITE.fullmatch(value):
                add_run(link(element, value, footnotes), value, "Hyperlink")
            else:
                add_run(element, value, on={"mark"} if kind == "mark" else ())
    buffer = io.BytesIO()
    document.save(buffer)
    return same_dates(buffer.getvalue())


def same_dates(package: bytes) -> bytes:
    """A zip package with every member dated ZIP_DATE (python-docx stamps the time of writing)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(zipfile.ZipInfo(info.filename, ZIP_DATE), source.read(info), zipfile.ZIP_DEFLATED)
    return out.getvalue()


# ---------------------------------------------------------------- the citation table


# A formula's first character (OWASP: = + - @, tab, CR), also behind what a spreadsheet may drop
# unseen before it: NUL and other control characters, a byte-order mark, zero-width marks (a space
# it keeps: " =1" is text).
_FORMULA = re.compile(r"[\t\r]|[\x00-\x1f\x7f\ufeff\u200b-\u200f\u2060]*[=+\-@]")


def csv_cell(value: object) -> str:
    """A cell as text; one that a spreadsheet would read as a formula starts with `'` (OWASP)."""
    text = "" if value is None else "; ".join(value) if isinstance(value, tuple) else str(value)
    return "'" + text if _FORMULA.match(text) else text


def csv_bytes(rows: list[Row]) -> bytes:
    """The citation table as CSV: UTF-8 with a byte-order mark (so Excel reads the Chinese), every
    cell quoted, the fields' names first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows([csv_cell(getattr(r, name)) for name in FIELDS] for r in rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8", "replace")


def json_bytes(rows: list[Row]) -> bytes:
    """The citation table as JSON: a list of objects, the CSV's fields (values as they are: numbers,
    null, `missing` a list)."""
    objects = [{name: list(v) if isinstance(v := getattr(r, name), tuple) else v for name in FIELDS} for r in rows]
    return (json.dumps(objects, ensure_ascii=False, indent=1) + "\n").encode("utf-8", "replace")
