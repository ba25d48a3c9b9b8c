"""The pipeline's report files, read as text: a report's own title, the run that wrote it, and the
sections of `final_report.md`, `initial_report.md`, bench `NNN_time.md` and `*_comparison.txt`
(`ingest.load_report` reads the folder; this module only the text). Every function is one pass
over its text.
"""

from __future__ import annotations

import re

from .messages import RUN_TITLE

_RULE_LINE = re.compile(r"^[=\-]{20,}\s*$")
# An ATX heading line (fullmatch); its closing #s are stripped by _heading_text, in one pass.
_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?")
_TITLE_MARKS = re.compile(r"《([^《》\n]{2,120})》")
# The title a query asks for: 《…》, or "titled '…'" (straight or curly quotes).
_REQUESTED = re.compile(r"《([^《》\n]{2,120})》|titled\s+['\"“‘]([^'\"“”‘’\n]{2,160})['\"”’]", re.IGNORECASE)
# The pipeline's own headings around a report (a file read whole when it has no `## Report`).
_WRAPPER = re.compile(r"task report:.*|(?:final|initial) report \((?:after|before) validation\)", re.IGNORECASE)
TITLE_CHARS = 120  # of a title kept
TITLE_LINES = 10  # a whole 《title》 line counts among the first lines (after a preamble), not further down


def _heading_text(text: str | None) -> str:
    """An ATX heading's text without its closing sequence (`## 标题 ##`; `C#` keeps its `#`)."""
    text = (text or "").rstrip(" \t")
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        text = bare.rstrip(" \t")
    return text.strip()


def _plain_title(text: str) -> str:
    return text.strip().strip("*_").strip()[:TITLE_CHARS]


def own_title(final: str, query: str = "") -> str:
    """The report's own title, never the words the model wrote before it ("Understood. I will use
    the RAG tools…", `\\boxed{`): the one heading above all others of the final text (the only
    heading at its highest level: `# 标题` over `## 引言`; several `## 一、…` are sections, not a
    title), else a line that is a whole 《title》 among its first TITLE_LINES, else the title the query asks
    for (《…》, "titled '…'"); "" when there is none."""
    top: list[str] = []
    level = 7
    marked = None
    seen = 0  # non-blank lines before the first whole 《title》 line
    for line in final.splitlines():
        if marked is None and seen < TITLE_LINES and line.strip():
            seen += 1
            marked = _TITLE_MARKS.fullmatch(line.strip().strip("*#").strip())
        heading = _HEADING.fullmatch(line)
        text = _heading_text(heading[2]) if heading else ""
        if not text or _WRAPPER.fullmatch(text):
            continue
        depth = len(heading[1])
        if depth < level:
            level, top = depth, [text]
        elif depth == level:
            top.append(text)
    if len(top) == 1 and _plain_title(top[0]):
        return _plain_title(top[0])
    if marked:
        return _plain_title(marked[1])
    requested = _REQUESTED.search(query)
    return _plain_title(requested[1] or requested[2]) if requested else ""


_RUN_TIME = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})_(\d{2})-?(\d{2})-?(\d{2})")


def run_title(meta: dict, task: str | None) -> str | None:
    """What tells a pipeline run apart: task · model · context size (or bench folder) · run time.
    Reports open with the same line ("Certainly! I'll analyze…"), so that line cannot be the title."""
    if not any(key in meta for key in ("model", "bench")):
        return None
    when = _RUN_TIME.search(str(meta.get("run", "")))
    time = f"{when[1]}-{when[2]}-{when[3]} {when[4]}:{when[5]}" if when else str(meta.get("generated", ""))[:16]
    parts = [
        RUN_TITLE.format(task=task or "—"),
        *(str(meta[k]) for k in ("model", "context", "bench") if meta.get(k)),
        time,
    ]
    return " · ".join(p for p in parts if p)


def sections_between_rules(text: str) -> dict[str, str]:
    """Sections of the pipeline's `*_comparison.txt`: a NAME line between two rule lines."""
    lines = text.splitlines()
    headers = [
        i
        for i in range(1, len(lines) - 1)
        if _RULE_LINE.match(lines[i - 1]) and _RULE_LINE.match(lines[i + 1]) and lines[i].strip()
    ]
    sections: dict[str, str] = {}
    for n, i in enumerate(headers):
        end = headers[n + 1] - 1 if n + 1 < len(headers) else len(lines)
        sections[lines[i].strip().upper()] = "\n".join(lines[i + 2 : end]).strip("\n")
    return sections


def is_comparison(text: str) -> bool:
    """The pipeline's original-vs-final file, whatever it was renamed to."""
    return "REPORT COMPARISON" in text[:400] and "FINAL REPORT" in text


def parse_comparison(text: str) -> dict[str, str]:
    sections = sections_between_rules(text)
    parsed = {"query": sections.get("QUERY", "")}
    for name, body in sections.items():
        if name.startswith("ORIGINAL REPORT"):
            parsed["original"] = body
        elif name.startswith("FINAL REPORT"):
            parsed["final"] = body
        elif name.startswith("REPORT COMPARISON"):
            parsed.update(header_fields(body))
    return parsed


def header_fields(text: str) -> dict[str, str]:
    fields = {}
    for line in text.splitlines():
        match = re.match(r"^(Task|Generated at)\s*:\s*(.+)$", line.strip())
        if match:
            fields["task" if match.group(1) == "Task" else "generated"] = match.group(2).strip()
    return fields


def parse_report_markdown(text: str) -> dict[str, str]:
    """`final_report.md`, `initial_report.md` and bench `NNN_time.md`: query, then the report."""
    lines = text.splitlines()
    heads = {i: line[3:].strip().lower() for i, line in enumerate(lines) if line.startswith("## ")}
    query_at = next((i for i, h in heads.items() if h == "query"), None)
    body_at = next((i for i, h in heads.items() if h in ("report", "final report")), None)
    if body_at is None:
        return {"body": text}
    end = next((i for i, h in heads.items() if i > body_at and h == "summary"), len(lines))
    parsed = header_fields("\n".join(lines[: query_at or body_at]))
    if query_at is not None:
        parsed["query"] = "\n".join(lines[query_at + 1 : body_at]).strip("\n")
    parsed["body"] = "\n".join(lines[body_at + 1 : end]).strip("\n")
    if end < len(lines):
        parsed["summary"] = "\n".join(lines[end + 1 :]).strip("\n")
    return parsed


def merge_report_file(parts: dict[str, str], name: str, text: str) -> None:
    """Add one pipeline report file to `parts`: a comparison fills both texts, others one each."""
    if is_comparison(text):
        parts.update({k: v for k, v in parse_comparison(text).items() if v})
        return
    parsed = parse_report_markdown(text)
    parts.setdefault("original" if name.startswith("initial") else "final", parsed.pop("body"))
    for key, value in parsed.items():
        parts.setdefault(key, value)
