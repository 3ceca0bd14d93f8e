"""Checks a `bench/run` record against the history in bench/history/, figure by figure.

    bench/compare [RECORD] [--history DIR] [--plot DIR] [--floor 0.05]

For each figure, the history's records of the same suite (quick or full) give a median and a
noise band: 3 median absolute deviations, but never less than --floor times the median (5 % by
default), so that a history of near-identical values does not flag noise. A ratio beyond the
band on the bad side (above it for "lower is better" figures, below it for throughput) is a
regression; beyond it on the good side it is reported as better. With fewer than 3 points of
history a figure is reported, never failed. A figure the history has (3 or more points) and this
run lacks fails as NOT MEASURED. Exits 1 when any figure regressed or went unmeasured, 2 on bad
input.

With --plot DIR, writes one SVG per figure: its ratio over the history's commits, the band,
and this run.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_HISTORY = 3
SIGMAS = 3.0


class BadRecord(Exception):
    pass


def load_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise BadRecord(f"{path}: cannot read a record: {error}") from None
    if not isinstance(record, dict):
        raise BadRecord(f"{path}: a record is a JSON object")
    for key in ("commit", "date", "suite", "figures"):
        if key not in record:
            raise BadRecord(f"{path}: not a bench/run record (no {key!r})")
    if not isinstance(record["figures"], dict):
        raise BadRecord(f"{path}: 'figures' must be an object")
    for name, value in record["figures"].items():
        if not isinstance(value, dict) or value.get("direction") not in ("lower", "higher"):
            raise BadRecord(f"{path}: figure {name!r} has no direction 'lower' or 'higher'")
        ratio = value.get("ratio")
        if ratio is not None and not isinstance(ratio, (int, float)):
            raise BadRecord(f"{path}: figure {name!r} has a ratio that is not a number")
    return record


def load_history(directory: Path) -> list[dict]:
    """Every record in the directory, oldest first."""
    if not directory.is_dir():
        raise BadRecord(f"{directory}: no such history directory")
    records = [load_record(path) for path in sorted(directory.glob("*.json"))]
    return sorted(records, key=lambda r: r["date"])


def band(values: list[float], floor: float) -> tuple[float, float]:
    """(median, half-width) of the noise band learned from `values`."""
    middle = statistics.median(values)
    mad = statistics.median(abs(v - middle) for v in values)
    return middle, max(SIGMAS * mad, floor * abs(middle))


def judge(value: float | None, history: list[float], direction: str, floor: float) -> dict:
    """The verdict for one figure: ok, REGRESSION, better, new (short history), or not measured
    (failing as NOT MEASURED when the history has the figure)."""
    result = {"value": value, "points": len(history), "median": None, "width": None}
    if value is None:
        # Measured before and not now: as much a failure as a slowdown (a server that completed
        # no request in its run, a figure the suite lost).
        result["verdict"] = "NOT MEASURED" if len(history) >= MIN_HISTORY else "not measured"
        return result
    if len(history) < MIN_HISTORY:
        result["verdict"] = f"new ({len(history)} of {MIN_HISTORY} points)"
        if history:
            result["median"] = statistics.median(history)
        return result
    middle, width = band(history, floor)
    result["median"], result["width"] = middle, width
    worse = value > middle + width if direction == "lower" else value < middle - width
    better = value < middle - width if direction == "lower" else value > middle + width
    result["verdict"] = "REGRESSION" if worse else "better" if better else "ok"
    return result


def compare(record: dict, history: list[dict], floor: float) -> list[dict]:
    """One row per figure of the record, and per figure of the history the record lacks."""
    same_suite = [r for r in history if r["suite"] == record["suite"]
                  and not (r["commit"] == record["commit"] and r["date"] == record["date"])]
    names = list(record["figures"])
    for past in same_suite:
        names += [n for n in past["figures"] if n not in names]
    rows = []
    for name in names:
        current = record["figures"].get(name)
        values = [r["figures"][name]["ratio"] for r in same_suite
                  if r["figures"].get(name, {}).get("ratio") is not None]
        direction = (current or next(r["figures"][name] for r in same_suite
                                     if name in r["figures"]))["direction"]
        row = judge(current["ratio"] if current else None, values, direction, floor)
        row.update(name=name, direction=direction)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    def number(value):
        return "–" if value is None else f"{value:.3f}"

    header = ["figure", "better", "history median", "band", "this run", "verdict"]
    lines = [header]
    for row in rows:
        if row["width"] is None:
            span = "–"
        elif row["direction"] == "lower":
            span = f"≤ {row['median'] + row['width']:.3f}"
        else:
            span = f"≥ {row['median'] - row['width']:.3f}"
        lines.append([row["name"], row["direction"], number(row["median"]), span,
                      number(row["value"]), row["verdict"]])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
           for line in lines]
    out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def svg_plot(name: str, direction: str, points: list[tuple[str, float]],
             current: tuple[str, float] | None, row: dict) -> str:
    """A line chart of the ratio over commits, with the band shaded and this run in red."""
    width, height, left, right, top, bottom = 680, 300, 60, 100, 40, 70
    series = points + ([current] if current else [])
    values = [v for _, v in series]
    if row["width"] is not None:
        values += [row["median"] - row["width"], row["median"] + row["width"]]
    low, high = min(values + [0.0]), max(values + [1.0])
    high += (high - low) * 0.1 or 1.0

    def x(i):
        return left + (width - left - right) * (i + 0.5) / max(len(series), 1)

    def y(v):
        return top + (height - top - bottom) * (1 - (v - low) / (high - low))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="18" font-size="13">{html.escape(name)}</text>',
             f'<text x="{left}" y="32" fill="#555">ratio ours / peer, {direction} is better; '
             f'blue: history, red: this run, green: noise band; + a dirty tree</text>']
    if row["width"] is not None:
        top_edge, bottom_edge = y(row["median"] + row["width"]), y(row["median"] - row["width"])
        parts.append(f'<rect x="{left}" y="{top_edge:.1f}" width="{width - left - right}" '
                     f'height="{bottom_edge - top_edge:.1f}" fill="#dfeedd"/>')
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(row["median"]):.1f}" '
                     f'y2="{y(row["median"]):.1f}" stroke="#7a7" stroke-dasharray="4 3"/>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(1.0):.1f}" y2="{y(1.0):.1f}" '
                 'stroke="#bbb"/>')
    parts.append(f'<text x="{left - 6}" y="{y(1.0) + 4:.1f}" text-anchor="end">1.0</text>')
    for v in (low, high):
        if abs(y(v) - y(1.0)) < 12:  # would overwrite the 1.0 label
            continue
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" '
                 'stroke="#333"/>')
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#36c"/>')
    for i, (label, v) in enumerate(series):
        colour = "#d22" if current and i == len(series) - 1 else "#36c"
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                     f'<title>{html.escape(label)}: {v:.3f}</title></circle>')
        parts.append(f'<text transform="translate({x(i):.1f},{height - bottom + 12}) rotate(45)"'
                     f' fill="#555">{html.escape(label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def write_plots(directory: Path, record: dict, history: list[dict], rows: list[dict]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    same_suite = [r for r in history if r["suite"] == record["suite"]
                  and not (r["commit"] == record["commit"] and r["date"] == record["date"])]
    for row in rows:
        name = row["name"]
        points = [(r["commit"][:8] + ("+" if r.get("dirty") else ""), r["figures"][name]["ratio"])
                  for r in same_suite if r["figures"].get(name, {}).get("ratio") is not None]
        current = None
        if row["value"] is not None:
            current = (record["commit"][:8] + ("+" if record.get("dirty") else ""), row["value"])
        (directory / f"{slug(name)}.svg").write_text(
            svg_plot(name, row["direction"], points, current, row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/compare", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("record", nargs="?", default=str(ROOT / "bench" / "data" / "last-run.json"),
                        help="a bench/run record (default bench/data/last-run.json)")
    parser.add_argument("--history", default=str(ROOT / "bench" / "history"))
    parser.add_argument("--plot", help="write one SVG per figure into this directory")
    parser.add_argument("--floor", type=float, default=0.05,
                        help="the band's least half-width, a fraction of the median (0.05)")
    args = parser.parse_args(argv)
    if not 0 <= args.floor < 1:
        parser.error("--floor is a fraction between 0 and 1")
    try:
        record = load_record(Path(args.record))
        history = load_history(Path(args.history))
    except BadRecord as error:
        print(f"bench/compare: {error}", file=sys.stderr)
        return 2
    rows = compare(record, history, args.floor)
    print(f"{record['suite']} suite, commit {record['commit'][:10]}"
          f"{' (dirty)' if record.get('dirty') else ''}, {record['date']}; history: "
          f"{sum(r['suite'] == record['suite'] for r in history)} records in {args.history}; "
          f"band: median ± max(3 MAD, {args.floor:.0%} of the median)")
    for note in record.get("notes", []):
        print(f"note: {note}")
    print(table(rows))
    if args.plot:
        write_plots(Path(args.plot), record, history, rows)
        print(f"plots: {args.plot}/*.svg")
    regressions = [row["name"] for row in rows
                   if row["verdict"] in ("REGRESSION", "NOT MEASURED")]
    if regressions:
        print(f"{len(regressions)} regression(s): {', '.join(regressions)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
