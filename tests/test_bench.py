"""`kb bench` smoke run (the real numbers come from the bench itself, never from timed tests)."""

from __future__ import annotations

import json
import statistics

from conftest import kb

from build_tools.bench import LENGTH_QUANTILES, synthesize
from build_tools.ingest import load


def test_synthetic_corpus_has_the_pipeline_length_statistics(tmp_path):
    made = synthesize(tmp_path / "kb", 300, 5)
    loaded = load(tmp_path / "kb")
    assert loaded.problems == [] and len(loaded.sources) == made["sources"] == 300
    median = statistics.median(len(s.body) for s in loaded.sources.values())
    target = dict(LENGTH_QUANTILES)[0.5]
    assert 0.8 * target < median < 1.25 * target
    assert len(loaded.reports) == 5


def test_bench_smoke_run(tmp_path):
    done = kb("bench", "--sources", "40", "--reports", "4", "--json", "--work", str(tmp_path))
    result = json.loads(done.stdout)
    assert result["sources"] == 40 and result["reports"] == 4 and result["chunks"] >= 40
    assert result["cold"]["ok"] and result["warm"]["ok"] and result["plain"]["ok"]
    assert result["pages"] >= 44 and result["search_index_gzip_bytes"] > 0
    assert result["cold"]["peak_rss_mb"] > 10 and result["plain_over_citekb"] > 0
