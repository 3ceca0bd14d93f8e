"""bench/compare's judgement of a bench/run record against a history: the noise band, the
verdicts in both directions, short histories, bad input, and the plots. No timing here: the
records are written by the tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import history_check  # noqa: E402


def record(commit: str, date: str, figures: dict, suite: str = "quick") -> dict:
    return {"format": 1, "commit": commit, "date": date, "suite": suite, "dirty": False,
            "figures": {name: {"ratio": ratio, "direction": direction}
                        for name, (ratio, direction) in figures.items()}}


def write_history(directory: Path, ratios: list[float], direction: str = "lower",
                  name: str = "delta write") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i, ratio in enumerate(ratios):
        past = record(f"{i:040x}", f"2026-01-{i + 1:02d}T00:00:00Z", {name: (ratio, direction)})
        (directory / f"2026010{i}-{i:010x}.json").write_text(json.dumps(past))
    return directory


def run(tmp_path: Path, history: Path, ratio: float | None, direction: str = "lower",
        extra: list[str] = ()) -> tuple[int, str]:
    current = tmp_path / "run.json"
    current.write_text(json.dumps(record("f" * 40, "2026-02-01T00:00:00Z",
                                         {"delta write": (ratio, direction)})))
    return history_check.main([str(current), "--history", str(history), *extra])


def test_band_is_three_mads_around_the_median():
    middle, width = history_check.band([1.0, 1.1, 0.9, 1.0, 1.3], floor=0.0)
    assert middle == 1.0
    assert width == pytest.approx(0.3)  # deviations 0, .1, .1, 0, .3: MAD 0.1


def test_band_has_a_floor_for_a_flat_history():
    middle, width = history_check.band([0.5, 0.5, 0.5, 0.5], floor=0.05)
    assert (middle, width) == (0.5, pytest.approx(0.025))
    assert history_check.judge(0.52, [0.5] * 4, "lower", 0.05)["verdict"] == "ok"
    assert history_check.judge(0.53, [0.5] * 4, "lower", 0.05)["verdict"] == "REGRESSION"


def test_noise_within_the_band_passes(tmp_path, capsys):
    history = write_history(tmp_path / "h", [0.50, 0.55, 0.45, 0.52, 0.48])
    # Median 0.50; deviations 0, .05, .05, .02, .02: MAD 0.02, so the band reaches 0.56.
    assert run(tmp_path, history, 0.555) == 0
    out = capsys.readouterr().out
    assert "REGRESSION" not in out
    assert "delta write" in out and "ok" in out


def test_a_slower_ratio_beyond_the_band_fails(tmp_path, capsys):
    history = write_history(tmp_path / "h", [0.50, 0.55, 0.45, 0.52, 0.48])
    assert run(tmp_path, history, 0.565) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "1 regression(s): delta write" in out


def test_an_improvement_is_not_a_regression(tmp_path, capsys):
    history = write_history(tmp_path / "h", [0.50, 0.55, 0.45, 0.52, 0.48])
    assert run(tmp_path, history, 0.20) == 0
    assert "better" in capsys.readouterr().out


def test_throughput_figures_regress_downwards(tmp_path, capsys):
    history = write_history(tmp_path / "h", [4.0, 4.2, 3.9, 4.1], direction="higher")
    assert run(tmp_path, history, 3.0, direction="higher") == 1
    assert "REGRESSION" in capsys.readouterr().out
    assert run(tmp_path, history, 6.0, direction="higher") == 0
    assert "better" in capsys.readouterr().out


@pytest.mark.parametrize("points", [0, 1, 2])
def test_a_short_history_reports_and_never_fails(tmp_path, capsys, points):
    history = write_history(tmp_path / "h", [0.5, 0.5][:points])
    history.mkdir(parents=True, exist_ok=True)
    assert run(tmp_path, history, 5.0) == 0
    assert f"new ({points} of 3 points)" in capsys.readouterr().out


def test_only_the_same_suite_counts(tmp_path, capsys):
    history = tmp_path / "h"
    history.mkdir()
    for i in range(4):
        full = record(f"{i:040x}", f"2026-01-0{i + 1}T00:00:00Z", {"delta write": (2.0, "lower")},
                      suite="full")
        (history / f"full-{i}.json").write_text(json.dumps(full))
    assert run(tmp_path, history, 5.0) == 0
    assert "new (0 of 3 points)" in capsys.readouterr().out


def test_the_record_itself_in_the_history_is_not_its_own_baseline(tmp_path):
    history = write_history(tmp_path / "h", [0.5, 0.5, 0.5])
    current = record("f" * 40, "2026-02-01T00:00:00Z", {"delta write": (0.9, "lower")})
    (history / "current.json").write_text(json.dumps(current))
    rows = history_check.compare(current, history_check.load_history(history), 0.05)
    assert rows[0]["points"] == 3 and rows[0]["verdict"] == "REGRESSION"


def test_a_figure_the_history_has_and_the_run_lacks_fails(tmp_path, capsys):
    history = write_history(tmp_path / "h", [0.5, 0.5, 0.5])
    assert run(tmp_path, history, None) == 1
    assert "NOT MEASURED" in capsys.readouterr().out
    short = write_history(tmp_path / "short", [0.5, 0.5])
    assert run(tmp_path, short, None) == 0
    assert "not measured" in capsys.readouterr().out


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    history = write_history(tmp_path / "h", [0.5])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert history_check.main([str(broken), "--history", str(history)]) == 2
    assert "cannot read a record" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"commit": "x", "date": "y", "suite": "quick"}))
    assert history_check.main([str(other), "--history", str(history)]) == 2
    assert "no 'figures'" in capsys.readouterr().err
    assert run(tmp_path, tmp_path / "nowhere", 0.5) == 2
    assert "no such history directory" in capsys.readouterr().err
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(record("a" * 40, "d", {"x": (0.5, "sideways")})))
    assert history_check.main([str(wrong), "--history", str(history)]) == 2
    assert "no direction" in capsys.readouterr().err


def test_plots_show_the_history_and_this_run(tmp_path):
    history = write_history(tmp_path / "h", [0.50, 0.55, 0.45])
    assert run(tmp_path, history, 0.52, extra=["--plot", str(tmp_path / "plots")]) == 0
    svg = (tmp_path / "plots" / "delta-write.svg").read_text()
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count("<circle") == 4  # three commits of history and this run
    assert 'fill="#d22"><title>ffffffff: 0.520' in svg  # this run, in red
    assert "<polyline" in svg and 'fill="#dfeedd"' in svg  # the history's line and the band
