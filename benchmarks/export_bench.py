"""What the report exports cost (issue 28, 8): per report, the Markdown and CSV the site writes beside
each report page, and the DOCX only `kb export` makes.

    python -m benchmarks.export_bench KB_DIR                     # an existing knowledge base
    python -m benchmarks.export_bench WORK --synthesize 10000,1000   # the scale bench's corpus, made in WORK
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from benchmarks.scale import synthesize
from build_tools import export
from build_tools.analysis import TermCache
from build_tools.audit import audit_kb
from build_tools.knowledge_base import build

DOCX_SAMPLE = 100  # reports timed for the DOCX (the first ones; a hundred tell the cost per report)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--synthesize", metavar="SOURCES,REPORTS", help="make the scale bench's corpus in FOLDER first")
    args = parser.parse_args()
    if args.synthesize and not (args.folder / "reports").exists():
        sources, reports = (int(n) for n in args.synthesize.split(","))
        synthesize(args.folder, sources, reports)
    kb = build(args.folder)
    audits = audit_kb(kb, TermCache(None))
    sizes = [len(c.report.final) for c in kb.cited.values()]
    citations = [len(c.final) for c in kb.cited.values()]
    print(
        f"{len(sizes)} reports: median {statistics.median(sizes):.0f} characters, {statistics.median(citations):.0f} citations"
    )
    start = time.perf_counter()
    for slug, cited in kb.cited.items():
        export.site_files(kb, cited, audits.get(slug))
    site = time.perf_counter() - start
    print(f"Markdown + CSV (the site's): {site:.2f} s, {site / len(sizes) * 1000:.1f} ms a report")
    sample = list(kb.cited.items())[:DOCX_SAMPLE]
    start = time.perf_counter()
    for slug, cited in sample:
        export.export(kb, cited, audits.get(slug), "docx")
    each = (time.perf_counter() - start) / len(sample)
    print(f"DOCX: {each * 1000:.1f} ms a report ({len(sample)} timed), {each * len(sizes):.1f} s for all")


if __name__ == "__main__":
    main()
