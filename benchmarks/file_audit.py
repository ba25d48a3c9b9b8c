"""What auditing citations of a whole task file costs (issue 27, point 1): one report citing one
file `--citations` times, each with its own claim, audited in this process (CPU seconds, the
minimum of `--runs`). Two synthetic files of `--pages` pages, seeded: an English PDF whose every
page names GPT-4, cited by Chinese claims naming it (the pipeline's task 003 cites "gpt-4 technical
report.pdf" so, 150 times), and the worst shape for `verdicts.best_place`, Chinese pages each
holding every word of every claim, where no page can be passed over.

    .venv/bin/python -m benchmarks.file_audit [--pages 300] [--citations 150] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from build_tools.analysis import TermCache
from build_tools.audit import audit_kb
from build_tools.ingest import Loaded
from build_tools.knowledge_base import KnowledgeBase, assemble
from build_tools.models import FilePart, FileSource, Report

ENGLISH = [
    "the",
    "model",
    "GPT-4",
    "scores",
    "results",
    "benchmark",
    "training",
    "data",
    "safety",
    "alignment",
    "evaluation",
    "human",
    "exam",
]
CHINESE = [
    "模型",
    "发布",
    "开源",
    "参数",
    "数据",
    "训练",
    "评测",
    "基准",
    "推理",
    "芯片",
    "公司",
    "市场",
    "用户",
    "平台",
    "生态",
    "能力",
    "安全",
    "成本",
    "部署",
    "社区",
]


def file_kb(pages: list[str], claims: list[str]) -> KnowledgeBase:
    """One PDF of `pages`, one report citing it whole after each claim, no corpus."""
    loaded = Loaded(Path("/bench"))
    parts = [FilePart("page", n, text) for n, text in enumerate(pages, 1)]
    loaded.files["files/t/x.pdf"] = FileSource("f", "x.pdf", "files/t/x.pdf", "pdf", "t", parts)
    text = "".join(f"{claim}[文档: x.pdf]。\n" for claim in claims)
    loaded.reports["r"] = Report("r", "报告", "reports/r", text, task="t", files="files/t")
    return assemble(loaded)


def shapes(pages: int, citations: int) -> dict[str, KnowledgeBase]:
    rng = random.Random(27)
    english = [". ".join(" ".join(rng.sample(ENGLISH, 8)) for _ in range(20)) + f" page {n}." for n in range(pages)]
    named = ["GPT-4 在" + "".join(rng.sample(CHINESE, 5)) + f"方面第{n}" for n in range(citations)]
    chinese = ["。".join("".join(rng.sample(CHINESE, 4)) for _ in range(60)) for _ in range(pages)]
    alike = ["".join(rng.sample(CHINESE, 6)) + f"第{n}" for n in range(citations)]
    return {"english_pdf": file_kb(english, named), "every_page_alike": file_kb(chinese, alike)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--citations", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures = {}
    for name, kb in shapes(args.pages, args.citations).items():
        seconds = []
        for _ in range(args.runs):
            start = time.process_time()
            audits = audit_kb(kb, TermCache(None), parallel=False)["r"]
            seconds.append(round(time.process_time() - start, 3))
        characters = sum(len(part.text) for file in kb.loaded.files.values() for part in file.parts)
        figures[name] = {
            "characters": characters,
            "audited": sum(audit is not None for audit in audits),
            "cpu_seconds": min(seconds),
            "ms_per_citation": round(1000 * min(seconds) / max(1, len(audits)), 2),
        }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
