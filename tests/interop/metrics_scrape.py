"""Prometheus metrics of running nlk processes, for the tests: start a daemon and learn the port
it bound (it prints `metrics on port N` on stderr), scrape /metrics, read samples, and promtool
(scripts/promtool.sh installs it)."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path

from nlkcli import REPO_ROOT, nlk_path

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


class Daemon:
    """An nlk process started with `--metrics-address 127.0.0.1:0`, its output in files."""

    def __init__(self, directory: Path, name: str, *args, env: dict | None = None):
        self.stdout_path = directory / f"{name}.out"
        self.stderr_path = directory / f"{name}.err"
        self.process = subprocess.Popen(
            [str(nlk_path()), *map(str, args)], stdout=self.stdout_path.open("w"),
            stderr=self.stderr_path.open("w"), stdin=subprocess.DEVNULL, env=env, text=True)
        self.port = self._wait_for_port()

    def _wait_for_port(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"metrics on port (\d+)", self.stderr_path.read_text())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode} before serving metrics: "
                                     f"{self.stderr_path.read_text()[-2000:]}")
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError(f"no metrics port within {timeout}s: {self.stderr_path.read_text()}")

    def scrape(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as reply:
            assert reply.status == 200
            assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            return reply.read().decode()

    def wait_for(self, condition, what: str, timeout: float = 60) -> dict[str, float]:
        """Scrapes until condition(samples) holds; a hang guard, not a timing assertion."""
        deadline = time.monotonic() + timeout
        while True:
            current = samples(self.scrape())
            if condition(current):
                return current
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout}s; last scrape: {current}")
            if self.process.poll() is not None:
                raise AssertionError(f"{what}: the process exited: {self.stderr_path.read_text()}")
            time.sleep(0.2)

    def stop(self, timeout: float = 60) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"did not stop within {timeout}s of SIGTERM") from None


def samples(text: str) -> dict[str, float]:
    """{'name{labels}': value} for every sample line."""
    found = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        found[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return found


def promtool() -> Path:
    """var/bin/promtool, installed on first use."""
    run = subprocess.run([str(REPO_ROOT / "scripts" / "promtool.sh"), "path"], capture_output=True,
                         text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, f"scripts/promtool.sh failed: {run.stderr[-2000:]}"
    return Path(run.stdout.strip())


def promtool_check_metrics(text: str) -> None:
    """promtool's lint of the exposition format: no error and no complaint."""
    run = subprocess.run([str(promtool()), "check", "metrics"], input=text, capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0 and not (run.stdout + run.stderr).strip(), run.stdout + run.stderr
