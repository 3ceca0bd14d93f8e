"""What the server benchmarks (serve, PostgreSQL wire, Flight SQL, security cost) share: start-up,
HTTP load with wrk, the machine they ran on, alternating repetitions with medians, percentiles, ROAPI's version and
the report: the JSON file and the section of docs/benchmarks.md.

Not a test. Imported by the scripts in bench/ that drive `nlk serve` through
tests/interop/serve_harness.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
sys.path.insert(0, str(REPO / "tests" / "interop"))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("NLK_BIN", str(REPO / "build" / "tools" / "nlk"))

import serve_harness  # noqa: E402


def machine(memory: bool = True) -> str:
    """'N cores[, M GB], System arch' of this machine."""
    parts = [f"{os.cpu_count()} cores"]
    if memory:
        parts.append(f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB")
    parts.append(f"{platform.system()} {platform.machine()}")
    return ", ".join(parts)


def load_average() -> float:
    """The 1-minute load average, rounded to a tenth."""
    return round(os.getloadavg()[0], 1)


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def percentile(ordered: Sequence[float], p: float) -> float:
    """The value at fraction P of ORDERED (sorted ascending, not empty): index int(p * n)."""
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def alternating(items: Sequence, repetition: int) -> list:
    """ITEMS in order on even repetitions and reversed on odd ones, so that no item always runs
    first (or last) on a machine whose load drifts."""
    return list(items) if repetition % 2 == 0 else list(reversed(items))


def timed(function: Callable, *args):
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def ratio(a: float | None, b: float | None) -> str:
    """a / b as '1.23×'; 'n/a' when either side has no figure."""
    return f"{a / b:.2f}×" if a and b else "n/a"


# wrk's Lua script: POSTs the SQL (with the given headers) and prints its summary as one JSON line.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [[%s]]
wrk.headers["Content-Type"] = "text/plain"
%s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"non2xx":%%d,' ..
    '"errors":%%d,"p50_us":%%d,"p99_us":%%d}\\n', summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(99)))
end
"""


def run_wrk(port: int, sql: str, connections: int, seconds: float, workdir: Path,
            scheme: str = "http", headers: dict[str, str] | None = None) -> dict:
    """`wrk` POSTing SQL to /api/sql on kept-alive connections for `seconds` (one thread for
    one connection, else two): requests, rps, non2xx, errors, p50_us, p99_us. Over https wrk
    shakes hands once per connection and does not verify the certificate."""
    extra = "\n".join(f'wrk.headers["{name}"] = "{value}"'
                      for name, value in (headers or {}).items())
    script = workdir / f"post-{os.getpid()}-{connections}.lua"
    script.write_text(WRK_SCRIPT % (sql, extra))
    threads = 1 if connections == 1 else 2
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s",
                          "--timeout", "30s", "-s", str(script),
                          f"{scheme}://127.0.0.1:{port}/api/sql"],
                         capture_output=True, text=True, timeout=seconds + 60)
    line = next((l for l in out.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary: {out.stdout}\n{out.stderr}")
    result = json.loads(line[len("WRKJSON "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def roapi_version() -> str:
    """ROAPI's version number, without the leading 'roapi'."""
    out = subprocess.run([serve_harness.roapi_path(), "--version"], capture_output=True,
                         text=True).stdout.strip()
    return out.replace("roapi ", "")


def roapi_config(path: Path, table: Path, http_port: int, **listeners: int) -> Path:
    """A ROAPI config serving TABLE as `samples` (`use_memory_table: false`) over HTTP on
    HTTP_PORT and any other LISTENERS (postgres=PORT, flight_sql=PORT)."""
    lines = ["addr:", f"  http: 127.0.0.1:{http_port}"]
    lines += [f"  {name}: 127.0.0.1:{port}" for name, port in listeners.items()]
    lines += ["tables:", "  - name: samples", f"    uri: {table}", "    option:",
              "      format: delta", "      use_memory_table: false"]
    path.write_text("\n".join(lines) + "\n")
    return path


def stop_all(servers: dict) -> None:
    for server in servers.values():
        server.stop()


def notes(name: str) -> str:
    """The text of bench/NAME (a benchmark's notes appended to its docs section), or ''."""
    path = REPO / "bench" / name
    return path.read_text().strip() if path.exists() else ""


def add_report_arguments(parser: argparse.ArgumentParser, out_name: str) -> None:
    """--nlk, --write-docs, --out and --from-json, as every server benchmark takes them."""
    parser.add_argument("--nlk", default=os.environ["NLK_BIN"])
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--out", default=str(REPO / "bench" / "data" / out_name))
    parser.add_argument("--from-json", help="only render (and --write-docs) a saved report")


def prepare_table(args: argparse.Namespace, generate: Callable[[str, Path], None]) -> Path:
    """Points the harness at --nlk and returns --table resolved, made by GENERATE(nlk, table)
    when it is not a Delta table yet."""
    os.environ["NLK_BIN"] = args.nlk
    table = Path(args.table).resolve()
    if not (table / "_delta_log").exists():
        generate(args.nlk, table)
    return table


def replace_section(path: Path, heading: str, section: str) -> None:
    """Replaces the section of PATH that starts with HEADING (up to the next '## ') by SECTION,
    or appends SECTION when PATH has no such heading."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(heading)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    path.write_text(text)


def publish(args: argparse.Namespace, heading: str, markdown: Callable[[dict], str],
            report: dict | None = None) -> int:
    """Writes REPORT to --out (when given a report; else renders --from-json), prints its
    section and, with --write-docs, puts it into docs/benchmarks.md under HEADING."""
    if report is None:
        report = json.loads(Path(args.from_json).read_text())
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
    section = markdown(report)
    print(section)
    if args.write_docs:
        replace_section(DOCS, heading, section)
    return 0
