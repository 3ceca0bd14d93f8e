"""Turns the results of bench/dual_engine_bench.py into the tables of docs/benchmarks.md and a
plot (SVG, drawn here so that no plotting library is needed): one panel per query, latency
against table size on log-log axes, one line per engine.

    .venv/bin/python bench/dual_engine_report.py [bench/data/dual_engine.json] [--svg docs/dual_engine.svg]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINES = {"spark": "#d9480f", "nlk sql": "#1c7ed6", "nlk serve": "#2b8a3e"}
PANEL_WIDTH, PANEL_HEIGHT, MARGIN = 260, 200, 46


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f}" if seconds >= 1 else f"{seconds * 1000:,.1f}"


def tables(report: dict) -> str:
    lines = []
    queries = list(dict.fromkeys(entry["query"] for entry in report["queries"]))
    scales = sorted({entry["rows"] for entry in report["queries"]})
    lines.append("| query | rows | Spark (ms) | nlk sql (ms) | nlk serve (ms) | Spark / nlk serve |")
    lines.append("|---|---:|---:|---:|---:|---:|")
    for query in queries:
        for rows in scales:
            entry = next((e for e in report["queries"] if e["query"] == query and e["rows"] == rows),
                         None)
            if entry is None:
                continue
            seconds = entry["seconds"]
            lines.append(f"| {query} | {rows:,} | {milliseconds(seconds['spark'])} | "
                         f"{milliseconds(seconds['nlk sql'])} | {milliseconds(seconds['nlk serve'])} "
                         f"| {seconds['spark'] / seconds['nlk serve']:.1f} |")
    if report.get("jobs"):
        lines.append("")
        in_job = all("job_seconds" in entry for entry in report["jobs"])
        lines.append("| job | workers | input rows | seconds (spark-submit) | rows/s |" +
                     (" seconds (in the job) | rows/s |" if in_job else ""))
        lines.append("|---|---:|---:|---:|---:|" + ("---:|---:|" if in_job else ""))
        for entry in report["jobs"]:
            line = (f"| {entry['job']} | {entry['workers']} | {entry['input_rows']:,} | "
                    f"{entry['seconds']:.1f} | {entry['rows_per_second']:,.0f} |")
            if in_job:
                line += f" {entry['job_seconds']:.1f} | {entry['job_rows_per_second']:,.0f} |"
            lines.append(line)
    return "\n".join(lines)


def svg(report: dict) -> str:
    queries = list(dict.fromkeys(entry["query"] for entry in report["queries"]))
    scales = sorted({entry["rows"] for entry in report["queries"]})
    values = [s for e in report["queries"] for s in e["seconds"].values()]
    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))
    x_low, x_high = math.log10(scales[0]), math.log10(scales[-1]) if len(scales) > 1 else 1
    columns = 3
    rows_of_panels = math.ceil(len(queries) / columns)
    width = columns * (PANEL_WIDTH + MARGIN) + MARGIN
    height = rows_of_panels * (PANEL_HEIGHT + MARGIN * 2) + 40
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    legend_x = MARGIN
    for engine, colour in ENGINES.items():
        out.append(f'<rect x="{legend_x}" y="12" width="14" height="3" fill="{colour}"/>'
                   f'<text x="{legend_x + 18}" y="17">{engine}</text>')
        legend_x += 110
    out.append(f'<text x="{legend_x + 20}" y="17" fill="#555">latency (s, log) against rows '
               '(log); lower is better</text>')

    def x_of(rows, left):
        span = (x_high - x_low) or 1
        return left + (math.log10(rows) - x_low) / span * PANEL_WIDTH

    def y_of(seconds, top):
        span = math.log10(high) - math.log10(low)
        return top + PANEL_HEIGHT - (math.log10(seconds) - math.log10(low)) / span * PANEL_HEIGHT

    for index, query in enumerate(queries):
        left = MARGIN + (index % columns) * (PANEL_WIDTH + MARGIN)
        top = 40 + (index // columns) * (PANEL_HEIGHT + MARGIN * 2) + 16
        out.append(f'<text x="{left}" y="{top - 6}" font-weight="bold">{query}</text>')
        out.append(f'<rect x="{left}" y="{top}" width="{PANEL_WIDTH}" height="{PANEL_HEIGHT}" '
                   'fill="none" stroke="#bbb"/>')
        decade = low
        while decade <= high * 1.0001:
            y = y_of(decade, top)
            out.append(f'<line x1="{left}" x2="{left + PANEL_WIDTH}" y1="{y:.1f}" y2="{y:.1f}" '
                       'stroke="#eee"/>')
            out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{decade:g}</text>')
            decade *= 10
        for rows in scales:
            x = x_of(rows, left)
            out.append(f'<text x="{x:.1f}" y="{top + PANEL_HEIGHT + 14}" text-anchor="middle">'
                       f'{rows / 1e6:g}M</text>')
        for engine, colour in ENGINES.items():
            points = [(x_of(e["rows"], left), y_of(e["seconds"][engine], top))
                      for e in sorted(report["queries"], key=lambda e: e["rows"])
                      if e["query"] == query]
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, y in points:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
    out.append("</svg>")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="?", default=str(REPO / "bench" / "data" / "dual_engine.json"))
    parser.add_argument("--svg", default=str(REPO / "docs" / "dual_engine.svg"))
    arguments = parser.parse_args()
    report = json.loads(Path(arguments.results).read_text())
    Path(arguments.svg).write_text(svg(report))
    print(tables(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
