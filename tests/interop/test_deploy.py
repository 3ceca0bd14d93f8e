"""deploy/: the Prometheus configuration and alert rules pass promtool (syntax, and the rules' unit
tests against synthetic series), the rules name only metrics the nlk processes serve, the scrape
targets are the addresses the systemd units give the processes, and the units pass
`systemd-analyze verify` and run as written: each process starts with its unit's command line,
serves /metrics where Prometheus looks, and stops cleanly on SIGTERM.

promtool comes from scripts/promtool.sh (installed on first use)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from metrics_scrape import Daemon, promtool, promtool_check_metrics, samples
from nlkcli import REPO_ROOT, nlk_path

DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
SYSTEMD = DEPLOY / "systemd"
UNITS = ["nlk-ingest", "nlk-optimize", "nlk-vacuum", "nlk-serve"]
# Metrics the rules may name before a process serves them, with who will.
ANNOUNCED = {"nlk_serve_freshness_seconds": "nlk serve's freshness histogram (issue 17, part 3)"}


def run_promtool(*args) -> subprocess.CompletedProcess:
    run = subprocess.run([str(promtool()), *args], capture_output=True, text=True, timeout=120,
                         cwd=PROMETHEUS, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, f"promtool {' '.join(args)}:\n{run.stdout}\n{run.stderr}"
    return run


def test_config_and_rules_pass_promtool():
    run_promtool("check", "config", "prometheus.yml")
    assert "SUCCESS: 13 rules found" in run_promtool("check", "rules", "alerts.yml").stdout
    run_promtool("test", "rules", "alerts_test.yml")


def uncommented(path: Path) -> str:
    return "\n".join(line for line in path.read_text().splitlines()
                     if not line.lstrip().startswith("#"))


def test_every_alert_has_a_unit_test_that_makes_it_fire():
    alerts = set(re.findall(r"- alert: (\w+)", uncommented(PROMETHEUS / "alerts.yml")))
    assert len(alerts) == 13
    # A case is `alertname: X` then `exp_alerts: []` (quiet) or a list of expected alerts.
    cases = re.findall(r"alertname: (\w+)\n\s+exp_alerts:( \[\])?",
                       uncommented(PROMETHEUS / "alerts_test.yml"))
    firing = {name for name, quiet in cases if not quiet}
    assert alerts == firing, f"alerts without a test that makes them fire: {alerts - firing}"


def metric_names_in_rules() -> set[str]:
    names = set()
    for expression in re.findall(r"expr: (?:>\n)?((?:.+\n?)+?)\s+(?:for|labels):",
                                 uncommented(PROMETHEUS / "alerts.yml")):
        for name in re.findall(r"\bnlk_[a-z0-9_]+", expression):
            names.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return names


def metric_names_in_sources() -> set[str]:
    names = set()
    for path in (REPO_ROOT / "src").rglob("*.cc"):
        names.update(re.findall(r'"(nlk_[a-z0-9_]+)', path.read_text()))
    return names


def small_table(run_nlk, directory: Path) -> Path:
    table = directory / "samples"
    for second in range(3):
        run_nlk("datagen", "--devices", "1", "--channels", "2", "--rate", "50", "--duration", "1",
                "--start", f"2026-01-01T00:00:0{second}Z", "--table", table, "--partition-by", "date")
    return table


def test_rules_name_only_metrics_the_processes_serve(run_nlk, tmp_path):
    table = small_table(run_nlk, tmp_path)
    served = metric_names_in_sources()
    # The maintenance daemons build their names from a prefix: ask them.
    for command in ("optimize", "vacuum"):
        daemon = Daemon(tmp_path, command, command, table, "--every", "60", "--metrics-address",
                        "127.0.0.1:0")
        try:
            scraped = daemon.wait_for(lambda m, c=command: m[f"nlk_{c}_runs_total"] >= 1, "a pass")
        finally:
            assert daemon.stop() == 0
        served.update(re.sub(r"\{.*", "", name) for name in scraped)
    missing = metric_names_in_rules() - served - set(ANNOUNCED)
    assert not missing, f"alerts.yml names metrics no nlk process serves: {sorted(missing)}"


# --- systemd units ------------------------------------------------------------------------------

def unit_setting(unit: str, key: str) -> str:
    text = (SYSTEMD / f"{unit}.service").read_text()
    [value] = re.findall(rf"^{key}=(.*)$", text, flags=re.MULTILINE)
    return value


def listen_address(command: list[str]) -> str:
    for flag in ("--metrics-address", "-a"):
        if flag in command:
            return command[command.index(flag) + 1]
    raise AssertionError(f"no listen address in {command}")


def test_scrape_targets_are_the_units_addresses():
    config = uncommented(PROMETHEUS / "prometheus.yml")
    jobs = re.findall(r"- job_name: (\S+)\n\s+static_configs:\n\s+- targets: \[(.*)\]", config)
    targets = {job: [target.strip().strip('"') for target in listed.split(",")]
               for job, listed in jobs}
    assert set(targets) == set(UNITS)
    for unit in UNITS:
        assert targets[unit] == [listen_address(shlex.split(unit_setting(unit, "ExecStart")))]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path):
    # As installed, but with this build's nlk and the repository's environment file.
    for unit in UNITS:
        text = (SYSTEMD / f"{unit}.service").read_text()
        text = text.replace("/usr/local/bin/nlk", str(nlk_path()))
        text = text.replace("/etc/neuralake/nlk.env", str(SYSTEMD / "nlk.env"))
        (tmp_path / f"{unit}.service").write_text(text)
    run = subprocess.run(["systemd-analyze", "verify", "--man=no",
                          *[str(tmp_path / f"{unit}.service") for unit in UNITS]],
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr


def environment_file() -> dict[str, str]:
    settings = {}
    for line in (SYSTEMD / "nlk.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            settings[name] = value
    return settings


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def unit_command(unit: str, settings: dict[str, str]) -> list[str]:
    """The unit's ExecStart as systemd runs it: ${NAME} replaced by the setting, whole."""
    words = shlex.split(unit_setting(unit, "ExecStart"))
    words = [re.sub(r"\$\{(\w+)\}", lambda m: settings[m.group(1)], word) for word in words]
    assert words[0] == "/usr/local/bin/nlk"
    return [str(nlk_path()), *words[1:]]


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as reply:
        return reply.read().decode()


@pytest.mark.parametrize("unit", UNITS)
def test_units_run_as_written_and_stop_on_sigterm(unit, run_nlk, tmp_path):
    settings = dict(environment_file())
    settings["NLK_TABLE"] = str(small_table(run_nlk, tmp_path))
    if unit == "nlk-ingest":
        bootstrap = os.environ.get("NLK_KAFKA_BOOTSTRAP")
        if not bootstrap:
            pytest.skip("NLK_KAFKA_BOOTSTRAP is unset (scripts/kafka.sh start)")
        settings["NLK_KAFKA_BOOTSTRAP"] = bootstrap
        settings["NLK_TOPIC"] = f"nlk-unit-{uuid.uuid4().hex[:12]}"
        created = subprocess.run([str(REPO_ROOT / "scripts" / "kafka.sh"), "create-topic",
                                  settings["NLK_TOPIC"], "2"], capture_output=True, text=True,
                                 timeout=120, stdin=subprocess.DEVNULL)
        assert created.returncode == 0, created.stderr
    command = unit_command(unit, settings)
    # The unit's fixed port may be taken on a shared machine: the same flag, a free port.
    address = listen_address(command)
    free = free_address()
    command[command.index(address)] = free
    environment = dict(os.environ, **{k: v for k, v in settings.items() if not k.startswith("AWS")})
    stderr_path = tmp_path / f"{unit}.err"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr_path.open("w"),
                               env=environment, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"{unit} exited: {stderr_path.read_text()[-2000:]}"
            try:
                text = scrape(free)
                break
            except OSError:
                assert time.monotonic() < deadline, f"{unit} serves no /metrics at {free}"
                time.sleep(0.2)
        assert samples(text), text
        promtool_check_metrics(text)
    finally:
        process.terminate()
        stop_timeout = int(unit_setting(unit, "TimeoutStopSec"))
        try:
            returncode = process.wait(timeout=stop_timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"{unit} did not stop within its TimeoutStopSec") from None
    assert returncode == 0, stderr_path.read_text()[-2000:]
