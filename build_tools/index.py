"""Stage 6: the prebuilt search index — one document per chunk and per report section.

Tokens: Chinese runs are segmented with jieba (`cut_for_search`, so a long word also yields its
dictionary sub-words), other text is lower-cased words with no stemming; both sides (build and
query) fold with NFKC. Token lists are cached by content hash across builds.

The index is written in lunr's serialized format (lunr.py's `Index.serialize`), sharded by the
first character of each term: a query only loads the shards of its own characters. Scores are
lunr's BM25 (k1 1.2, b 0.75), computed here once instead of rebuilding the index in the browser.

Queries cannot run jieba in the browser, so query segmentation is defined on the index itself:
every substring of a Chinese run that is an indexed term becomes a query term (single characters
only where no longer term covers them). `query_terms` here and `citekb-search.js` implement the
same rule; a test proves they agree.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import marshal
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lunr.index import Index
from lunr.pipeline import Pipeline
from lunr.vector import Vector

from .cite.parse import parse_citations
from .clean import segments
from .knowledge_base import KnowledgeBase
from .lock import write_atomic

FIELDS = {"title": 1.0, "text": 1.0}  # a title boost > 1 ranks all chunks of a matching source alike
K1, B = 1.2, 0.75
MAX_TERM = 8  # longest Chinese substring tried as a query term
POSTINGS_PER_SHARD = 60_000
SNIPPET = 160
FORMAT = 1
SITE_FOLDER = "search/citekb"  # where the index lives in the built site

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_RUNS = re.compile(rf"[{_CJK}]+|[a-z0-9\u00c0-\u024f]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


@dataclass(frozen=True)
class SearchDoc:
    location: str  # site path with anchor, e.g. sources/<slug>/#chunk-3
    title: str
    text: str


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _jieba():
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """Index tokens of a text: jieba words for Chinese runs, lower-cased words otherwise."""
    jieba = None
    tokens: list[str] = []
    for run in _RUNS.findall(fold(text)):
        if _IS_CJK.match(run):
            jieba = jieba or _jieba()
            tokens.extend(jieba.cut_for_search(run))
        else:
            tokens.append(run)
    return tokens


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()[:12]


class TokenCache:
    """Token lists by content hash, kept across builds in one marshal file."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[bytes, list[str]] = {}
        self.used: set[bytes] = set()
        if path and path.exists():
            try:
                self.entries = marshal.loads(path.read_bytes())
            except (EOFError, ValueError, TypeError):
                self.entries = {}  # a damaged cache is only a slower build

    def tokens(self, texts: list[str], progress: Callable[[str], None] | None = None) -> list[list[str]]:
        keys = [text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in self.entries}
        if missing:
            if progress:
                progress(f"segmenting {len(missing)} texts with jieba ({len(texts) - len(missing)} cached)")
            for key, tokens in zip(missing, segment_all(list(missing.values()))):
                self.entries[key] = tokens
        self.used.update(keys)
        return [self.entries[k] for k in keys]

    def save(self) -> None:
        """Keep only what this build used, so the cache never grows past the knowledge base."""
        if self.path:
            write_atomic(self.path, marshal.dumps({k: v for k, v in self.entries.items() if k in self.used}))


def segment_all(texts: list[str]) -> list[list[str]]:
    """Tokenize many texts, on every core when there are enough of them to pay for the processes."""
    workers = os.cpu_count() or 1
    if len(texts) < 2000 or workers < 2:
        return [tokenize(t) for t in texts]
    import multiprocessing

    _jieba()  # load the dictionary once, before forking
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return pool.map(tokenize, texts, chunksize=200)


# ---------------------------------------------------------------- documents


def strip_citations(text: str) -> str:
    """Report text without its citation brackets (their words would match every report)."""
    out, cursor = [], 0
    for citation in sorted(parse_citations(text), key=lambda c: c.start):
        if citation.start >= cursor:
            out.append(text[cursor:citation.start])
            cursor = citation.end
    out.append(text[cursor:])
    return " ".join(out)


def search_docs(kb: KnowledgeBase) -> list[SearchDoc]:
    """One document per chunk (boilerplate left out) and per report section, in a stable order."""
    docs: list[SearchDoc] = []
    for slug in sorted(kb.chunks):
        source = kb.loaded.sources[slug]
        removals = kb.removals[slug]
        for chunk in kb.chunks[slug]:
            kept = "".join(piece for piece, rule in segments(source.text, chunk.start, chunk.start + len(chunk.text), removals)
                           if not rule) if removals else chunk.text
            docs.append(SearchDoc(f"sources/{slug}/#chunk-{chunk.index}", f"{source.title} · chunk {chunk.index}", kept))
    for slug in sorted(kb.cited):
        report = kb.cited[slug].report
        sections = [("query", "查询", report.query), ("final", "最终报告", report.final),
                    ("original", "原始报告", report.original or "")]
        for anchor, label, text in sections:
            if text.strip():
                docs.append(SearchDoc(f"reports/{slug}/#{anchor}", f"{report.title} · {label}", strip_citations(text)))
    return docs


# ---------------------------------------------------------------- the index


def shard_of(term: str, shards: int) -> int:
    """Same rule in citekb-search.js: the first character's code point, modulo the shard count."""
    return ord(term[0]) % shards


@dataclass
class BuiltIndex:
    files: dict[str, bytes]  # path under the site's search folder → content
    documents: int
    terms: int
    postings: int


def build_index(docs: list[SearchDoc], cache: TokenCache,
                progress: Callable[[str], None] | None = None) -> BuiltIndex:
    """lunr-format shards + a document table, scored exactly as lunr's Builder would."""
    both = cache.tokens([d.title for d in docs] + [d.text for d in docs], progress)
    tokens = {"title": both[:len(docs)], "text": both[len(docs):]}
    counts = {field: [Counter(t) for t in lists] for field, lists in tokens.items()}
    document_frequency: Counter = Counter()
    for i in range(len(docs)):
        document_frequency.update(set(counts["title"][i]) | set(counts["text"][i]))
    postings = sum(len(c) for field in counts.values() for c in field)
    shards = max(1, math.ceil(postings / POSTINGS_PER_SHARD))
    n = len(docs)
    idf = {t: math.log(1 + abs((n - df + 0.5) / (df + 0.5))) for t, df in document_frequency.items()}

    shard_terms: list[dict[str, dict]] = [{} for _ in range(shards)]
    shard_vectors: list[dict[str, list[tuple[str, float]]]] = [{} for _ in range(shards)]
    for field, boost in FIELDS.items():
        lengths = [sum(c.values()) for c in counts[field]]
        average = (sum(lengths) / n) if n else 1.0
        for ref, (counter, length) in enumerate(zip(counts[field], lengths)):
            key = f"{field}/{ref}"
            for term, tf in counter.items():
                score = idf[term] * ((K1 + 1) * tf) / (K1 * (1 - B + B * length / (average or 1)) + tf) * boost
                s = shard_of(term, shards)
                posting = shard_terms[s].setdefault(term, {"_index": 0, **{f: {} for f in FIELDS}})
                posting[field][str(ref)] = {}
                shard_vectors[s].setdefault(key, []).append((term, round(score * 1000) / 1000))
    files: dict[str, bytes] = {}
    for s in range(shards):
        terms = shard_terms[s]
        for position, term in enumerate(sorted(terms)):
            terms[term]["_index"] = position
        vectors = {}
        for key, entries in sorted(shard_vectors[s].items(), key=lambda kv: _ref_order(kv[0])):
            elements: list[float] = []
            for term, score in sorted(entries, key=lambda e: terms[e[0]]["_index"]):
                elements += [terms[term]["_index"], score]
            vectors[key] = Vector(elements)
        index = Index(inverted_index=terms, field_vectors=vectors, token_set=None, fields=list(FIELDS), pipeline=Pipeline())
        files[f"shard-{s}.json"] = _json(index.serialize())
    table = [[d.location, d.title, d.text[:SNIPPET]] for d in docs]
    files["docs.json"] = _json(table)
    files["manifest.json"] = _json({"format": FORMAT, "shards": shards, "documents": n, "max_term": MAX_TERM,
                                    "fields": FIELDS})
    if progress:
        progress(f"search index: {n} documents, {len(document_frequency)} terms, {postings} postings, {shards} shards")
    return BuiltIndex(files, n, len(document_frequency), postings)


def _ref_order(key: str) -> tuple[int, int]:
    field, ref = key.split("/")
    return int(ref), list(FIELDS).index(field)


def _json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def write_index(built: BuiltIndex, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in built.files.items():
        (folder / name).write_bytes(data)


def index_files(site: Path) -> list[Path]:
    return sorted((site / SITE_FOLDER).glob("*.json"))


def byte_sizes(paths: list[Path]) -> tuple[int, int]:
    """(raw, gzip) bytes of files, as the benchmarks report index sizes."""
    data = [path.read_bytes() for path in paths]
    return sum(map(len, data)), sum(len(gzip.compress(d, mtime=0)) for d in data)


# ---------------------------------------------------------------- queries (mirrored in citekb-search.js)


def query_terms(query: str, has_term: Callable[[str], bool]) -> list[tuple[str, bool]]:
    """(term, trailing wildcard) clauses of a query: see the module docstring for the rule."""
    clauses: list[tuple[str, bool]] = []
    runs = _RUNS.findall(fold(query))
    for number, run in enumerate(runs):
        if not _IS_CJK.match(run):
            clauses.append((run, number == len(runs) - 1 and len(run) >= 3))  # still typing the last word
            continue
        covered = [False] * len(run)
        found: list[str] = []
        for start in range(len(run)):
            for end in range(start + 2, min(len(run), start + MAX_TERM) + 1):
                if has_term(run[start:end]):
                    found.append(run[start:end])
                    covered[start:end] = [True] * (end - start)
        found += [c for i, c in enumerate(run) if not covered[i] and has_term(c)]
        clauses.extend((t, False) for t in found)
    unique: dict[tuple[str, bool], None] = dict.fromkeys(clauses)
    return list(unique)


class Searcher:
    """`kb search`: the browser worker's algorithm over the same files, with lunr.py."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        self.docs = json.loads((folder / "docs.json").read_text(encoding="utf-8"))
        self._shards: dict[int, Index] = {}

    def shard(self, term: str) -> Index:
        return self.load(shard_of(term, self.manifest["shards"]))

    def load(self, number: int) -> Index:
        if number not in self._shards:
            self._shards[number] = Index.load((self.folder / f"shard-{number}.json").read_text(encoding="utf-8"))
        return self._shards[number]

    def search(self, query: str, limit: int = 10) -> list[dict]:
        clauses = query_terms(query, lambda t: t in self.shard(t).inverted_index)
        by_shard: dict[int, list[tuple[str, bool]]] = {}
        for term, wildcard in clauses:
            by_shard.setdefault(shard_of(term, self.manifest["shards"]), []).append((term, wildcard))
        scores: Counter = Counter()
        for number, terms in sorted(by_shard.items()):
            index = self.load(number)
            query_object = index.create_query()
            for term, wildcard in terms:
                query_object.term(term, use_pipeline=False, wildcard=2 if wildcard else 0)
            for result in index.query(query_object):
                scores[int(result["ref"])] += result["score"]
        ranked = sorted(scores.items(), key=lambda kv: (-round(kv[1], 6), kv[0]))[:limit]
        return [{"location": self.docs[ref][0], "title": self.docs[ref][1], "score": round(score, 6)}
                for ref, score in ranked]

