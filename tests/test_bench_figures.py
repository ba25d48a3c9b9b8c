"""`kb bench`'s figures and arguments, in-process: the median and range of N runs, CPU utilisation,
`--runs` and `--kb` handling, and the one-source edit of an existing folder (no build is timed
here; the full bench over a copied folder is marked slow)."""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from helpers import kb

from benchmarks import scale
from benchmarks.scale import cpu_figures, edit_source, edited_source, process_cpu_seconds, run_build, summarize
from build_tools import cli
from build_tools.ingest import load


def test_summary_is_the_median_and_range_of_each_number():
    runs = [
        {"seconds": 9.0, "peak_rss_mb": 300.5, "ok": True, "log_tail": "a", "pages": 7},
        {"seconds": 5.0, "peak_rss_mb": 310.0, "ok": True, "log_tail": "b", "pages": 7},
        {"seconds": 6.0, "peak_rss_mb": 290.0, "ok": True, "log_tail": "c", "pages": 7},
    ]
    summary = summarize(runs)
    assert summary["seconds"] == 6.0 and summary["seconds_range"] == [5.0, 9.0]
    assert summary["peak_rss_mb"] == 300.5 and summary["peak_rss_mb_range"] == [290.0, 310.0]
    assert summary["pages"] == 7 and summary["pages_range"] == [7, 7]
    assert summary["ok"] is True and summary["runs"] == 3 and "log_tail" not in summary  # no failure: no tail
    assert "ok_range" not in summary  # a flag is not a number


def test_summary_of_an_even_count_takes_the_middle_two_and_names_a_failure():
    runs = [
        {"seconds": s, "ok": ok, "log_tail": tail}
        for s, ok, tail in [(4, True, "x"), (1, True, "y"), (2, False, "boom"), (8, True, "z")]
    ]
    summary = summarize(runs)
    assert summary["seconds"] == 3.0 and summary["seconds_range"] == [1, 8]
    assert summary["ok"] is False and summary["log_tail"] == "boom"


def test_one_run_keeps_the_fields_a_single_bench_gave():
    run = {"first_build_seconds": 4.2, "index_ready_seconds": 6.1, "edit_visible_seconds": 0.8, "ok": True}
    summary = summarize([run])
    assert {key: summary[key] for key in run} == run
    assert summary["edit_visible_seconds_range"] == [0.8, 0.8] and summary["runs"] == 1


def test_cpu_utilisation_is_cpu_time_over_wall_time():
    assert cpu_figures(3.0, 1.5) == (3.0, 2.0)
    assert cpu_figures(1.234, 4.0) == (1.23, 0.31)
    assert cpu_figures(0.5, 0.0) == (0.5, 0.0)  # no wall time measured: no ratio, not a division error


def test_process_cpu_seconds_follows_this_process():
    before, times_before = process_cpu_seconds(os.getpid()), os.times()
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after, times_after = process_cpu_seconds(os.getpid()), os.times()
    if before is None:
        pytest.skip("no /proc here")
    spent = (times_after.user + times_after.system) - (times_before.user + times_before.system)
    assert abs((after - before) - spent) < 0.05 and after - before >= 0.25


def test_a_build_run_counts_the_cpu_of_the_processes_it_waited_for():
    """The child forks a process that spins 0.4 s and waits for it, while spinning 0.4 s itself."""
    spin = "import time\nt = time.process_time() + 0.4\nwhile time.process_time() < t: pass\n"
    script = f"import os\npid = os.fork()\n{spin}if pid: os.waitpid(pid, 0)\nelse: os._exit(0)\n"
    run = run_build([sys.executable, "-c", script], dict(os.environ), timeout=30)
    assert run.ok and run.cpu_seconds >= 0.75
    assert abs(run.cpu_utilisation - run.cpu_seconds / run.seconds) < 0.05  # both figures rounded after


def test_a_build_run_tells_the_kernels_time_apart():
    """Of two children, one adding numbers and one asking the kernel (a million system calls), the
    second spends most of its time there, the first almost none."""
    adding = "n = 0\nfor i in range(5_000_000):\n    n += i\n"
    asking = "import os\nfor _ in range(1_000_000):\n    os.stat('.')\n"
    added, asked = (
        run_build([sys.executable, "-c", script], dict(os.environ), timeout=60) for script in (adding, asking)
    )
    assert added.ok and asked.ok and added.cpu_seconds > 0.2 and asked.cpu_seconds > 0.2
    assert added.system_seconds < 0.2 * added.cpu_seconds and asked.system_seconds > 0.5 * asked.cpu_seconds


@pytest.fixture
def bench_calls(monkeypatch):
    """`kb bench` with the bench itself replaced: the arguments it would have run with."""
    calls: list[dict] = []

    def fake(sources, reports, work, **options):
        calls.append({"sources": sources, "reports": reports, "work": work, **options})
        return {"cold": {"ok": True}, "warm": {"ok": True}, "serve": {"ok": True}}

    monkeypatch.setattr(scale, "bench", fake)
    return calls


def test_runs_and_kb_reach_the_bench(bench_calls, tmp_path, capsys):
    (tmp_path / "kb").mkdir()
    assert (
        cli.main(["bench", "--kb", str(tmp_path / "kb"), "--runs", "3", "--work", str(tmp_path / "w"), "--json"]) == 0
    )
    assert bench_calls[-1]["runs"] == 3 and bench_calls[-1]["kb_dir"] == (tmp_path / "kb").resolve()
    assert json.loads(capsys.readouterr().out)["cold"]["ok"] is True
    assert cli.main(["bench", "--work", str(tmp_path / "w")]) == 0
    assert bench_calls[-1]["runs"] == 1 and bench_calls[-1]["kb_dir"] is None
    assert (bench_calls[-1]["sources"], bench_calls[-1]["reports"]) == (1000, 100)  # the defaults as before


@pytest.mark.parametrize("runs", ["0", "-2", "two", "1.5"])
def test_runs_must_be_a_count(bench_calls, runs, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["bench", "--runs", runs])
    assert stopped.value.code == 2 and "--runs" in capsys.readouterr().err and not bench_calls


@pytest.mark.parametrize("extra", [["--sources", "10"], ["--reports", "3"], ["--citations", "10,20"]])
def test_kb_refuses_synthetic_settings(bench_calls, tmp_path, extra, capsys):
    (tmp_path / "kb").mkdir()
    assert cli.main(["bench", "--kb", str(tmp_path / "kb"), *extra]) == 1
    assert "--kb measures that folder" in capsys.readouterr().err and not bench_calls


def test_kb_must_be_a_folder_and_work_outside_it(bench_calls, tmp_path, capsys):
    assert cli.main(["bench", "--kb", str(tmp_path / "missing")]) == 1
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "kb").mkdir()
    assert cli.main(["bench", "--kb", str(tmp_path / "kb"), "--work", str(tmp_path / "kb" / "w")]) == 1
    assert "inside the knowledge-base folder" in capsys.readouterr().err and not bench_calls


def test_the_edit_of_a_source_held_by_several_corpora_keeps_its_page(tmp_path):
    """An imported folder holds a document in several corpus files (one per context size): the
    bench edits it in each, so it stays one source under one slug, its text edited."""
    scale.synthesize(tmp_path, 3, 0)
    first = tmp_path / "corpora" / "001" / "long_context_sampled_60.json"
    copy = tmp_path / "corpora" / "001" / "long_context_sampled_32k.json"
    copy.write_bytes(first.read_bytes())
    before = load(tmp_path)
    title, slug = edited_source(tmp_path)
    assert before.sources[slug].title == title
    edit_source(tmp_path, title, "编辑标记")
    after = load(tmp_path)
    assert after.problems == [] and set(after.sources) == set(before.sources)
    assert after.sources[slug].body.endswith("\n编辑标记")


@pytest.mark.slow
def test_bench_of_an_existing_folder_over_two_runs(tmp_path):
    scale.synthesize(tmp_path / "mine", 30, 3)
    kept = sorted(p.read_bytes() for p in (tmp_path / "mine").rglob("*") if p.is_file())
    done = kb(
        "bench", "--kb", str(tmp_path / "mine"), "--runs", "2", "--no-plain", "--json", "--work", str(tmp_path / "w")
    )
    result = json.loads(done.stdout)
    assert result["sources"] == 30 and result["reports"] == 3 and result["runs"] == 2
    for figure in ("cold", "warm", "serve"):
        assert result[figure]["ok"] and result[figure]["runs"] == 2
    low, high = result["cold"]["seconds_range"]
    assert low <= result["cold"]["seconds"] <= high and result["cold"]["cpu_utilisation"] > 0
    assert sorted(p.read_bytes() for p in (tmp_path / "mine").rglob("*") if p.is_file()) == kept  # a copy was edited
