"""Stage 3: split documents exactly as the research pipeline's retriever does.

Citations say "chunk N"; our anchors must name the same text, so this reproduces the
pipeline's windowing rule by rule (see the pipeline README) rather than approximating it.
"""

from __future__ import annotations

from .models import Chunk

CHUNK_SIZE = 1500
OVERLAP = 200
# Where a window that does not reach the end of the text may be cut, in order of preference.
PARAGRAPH_BREAK = "\n\n"
SENTENCE_BREAKS = ("。", "！", "？", ". ", "! ", "? ", "\n")
EMPTY_DOCUMENT = "[Empty Document]"


def _window_end(text: str, start: int) -> int:
    end = min(start + CHUNK_SIZE, len(text))
    if end == len(text):
        return end
    cut = text.rfind(PARAGRAPH_BREAK, start, end)
    if cut > start:
        return cut + len(PARAGRAPH_BREAK)
    for separator in SENTENCE_BREAKS:
        cut = text.rfind(separator, start, end)
        if cut > start:
            return cut + len(separator)
    return end


def chunk_text(text: str) -> list[Chunk]:
    """Chunks of `text` with the pipeline's numbering; whitespace-only windows take no number."""
    if not text.strip():
        return [Chunk(0, 0, len(text), EMPTY_DOCUMENT)]
    chunks: list[Chunk] = []
    start = 0
    while start < len(text):
        end = _window_end(text, start)
        content = text[start:end].strip()
        if content:
            chunks.append(Chunk(len(chunks), start, end, content))
        next_start = end - OVERLAP
        start = next_start if next_start > start else end
    return chunks


def content_offset(text: str, chunk: Chunk) -> int:
    """Where `chunk.text` begins in `text` (its window minus leading whitespace)."""
    window = text[chunk.start : chunk.end]
    return chunk.start + len(window) - len(window.lstrip())
