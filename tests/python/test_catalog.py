"""Catalog tables declared in Python: the manifest they produce is the C++ catalog's own,
validated by its rules, and nlk serves and shows it."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import neuralake
from neuralake.catalog import (
    Catalog,
    ColumnPolicy,
    ComputedColumn,
    DeltaSource,
    DocsFilter,
    ParquetSource,
    RowFilter,
    table,
)
from conftest import NLK_BIN, recordings, run_nlk

SERVE_START_TIMEOUT = 60.0


def lab_catalog(samples_uri: str) -> Catalog:
    @table(
        database="ephys",
        description="Raw voltage samples, one row per channel and sample",
        owner="ephys-team",
        tags=["raw", "voltage"],
        data_input="recording rigs",
        latency="minutes",
        update_frequency="per session",
        freshness_slo_seconds=3600,
        schema=recordings(1, range(1)).schema,
        unique_columns=["session", "channel", "sequence"],
        docs_filters=[DocsFilter("channel = 5", "one channel")],
        computed_columns=[ComputedColumn("voltage_mv", "voltage_uv / 1000.0", "millivolts")],
        source=DeltaSource(samples_uri, partition_columns=["date"]),
    )
    def samples():
        """Samples as the rigs record them."""

    @table(database="ephys", description="Probe geometry, one row per electrode",
           source=ParquetSource("probes"))
    def probes():
        """Probe layouts."""

    @table(database="ephys", description="Channel labels computed in Python", name="labels")
    def channel_labels():
        return pa.table({"channel": [1, 2], "label": ["a", "b"]})

    return Catalog("lab", description="The lab's recordings", tables=[samples, probes,
                                                                        channel_labels],
                   databases={"ephys": "Electrophysiology"})


def test_manifest_is_the_cpp_format_with_derived_fields(cli_table, tmp_path):
    catalog = lab_catalog(str(cli_table))
    assert catalog.problems() == []
    manifest = json.loads(catalog.manifest(root=tmp_path))
    assert manifest["format"] == "neuralake-catalog-manifest"
    assert manifest["format_version"] == 1
    assert manifest["root"] == str(tmp_path)
    tables = {entry["name"]: entry for entry in manifest["catalogs"][0]["databases"][0]["tables"]}
    samples = tables["samples"]
    assert samples["qualified_name"] == "ephys.samples"
    assert samples["kind"] == "delta" and samples["writer"] == "nlk"
    assert samples["resolved_uri"] == str(cli_table)
    assert samples["schema"]["fields"][2] == {"name": "channel", "type": "integer",
                                              "nullable": True, "metadata": {}}
    assert samples["freshness"]["slo_seconds"] == 3600
    assert samples["retention"] is None
    assert tables["probes"]["resolved_uri"] == str(tmp_path / "probes")
    assert tables["labels"]["kind"] == "function" and tables["labels"]["uri"] is None
    assert [entry["name"] for entry in manifest["serve"]["tables"]] == [
        "ephys.samples", "ephys.probes", "ephys.labels"]


def test_retention_reaches_the_manifest_and_its_validation(cli_table):
    def declare(schema):
        @table(database="ephys", description="Daily recordings", schema=schema,
               retention_column="date", retention_days=30,
               source=DeltaSource(str(cli_table), partition_columns=["date"]))
        def daily():
            """Recordings by day."""

        return Catalog("lab", description="retention", tables=[daily])

    kept = declare(pa.schema([("date", pa.date32()), ("value", pa.float64())]))
    assert kept.problems() == []
    declared = json.loads(kept.manifest())["catalogs"][0]["databases"][0]["tables"][0]
    assert declared["retention"] == {"column": "date", "keep_days": 30}
    text_dates = declare(pa.schema([("date", pa.string()), ("value", pa.float64())]))
    assert any("retention needs a date or timestamp column" in problem
               for problem in text_dates.problems()), text_dates.problems()


def test_manifest_round_trips_through_nlk(cli_table, tmp_path):
    """nlk reads the Python manifest back and writes the same document from it: the site
    copies the manifest it was given (manifest.json) as BuildManifest writes it."""
    path = tmp_path / "lab.json"
    lab_catalog(str(cli_table)).write_manifest(path, root=tmp_path)
    run_nlk("catalog", "site", "--manifest", str(path), "--out", str(tmp_path / "site"))
    assert (tmp_path / "site" / "manifest.json").read_text() == path.read_text()


def test_cpp_manifest_reads_back_unchanged_through_python(tmp_path):
    written = run_nlk("catalog", "manifest", "--root", str(tmp_path)).stdout.decode()
    from neuralake import _core

    assert _core.build_manifest(written, None) == written


def test_invalid_declarations_fail_with_the_cpp_validation_messages(cli_table, tmp_path):
    @table(database="ephys", description="", source=DeltaSource(str(cli_table),
                                                                 partition_columns=["day"]),
           schema=pa.schema([("date", pa.string())]), name="raw samples")
    def broken():
        pass

    catalog = Catalog("lab", tables=[broken])
    problems = catalog.problems()
    assert problems[0].startswith("table ephys.raw samples: name: 'raw samples' is not a name")
    assert any("description: is missing" in problem for problem in problems)
    assert any("partition_columns: 'day' is not a column of the declared schema" in problem
               for problem in problems)
    with pytest.raises(neuralake.InvalidArgumentError) as raised:
        catalog.manifest()
    assert str(raised.value).startswith(f"catalog lab has {len(problems)} problems:")

    # nlk refuses the same declarations with the same sentences.
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(catalog.declarations()))
    result = run_nlk("catalog", "site", "--manifest", str(path), "--out", str(tmp_path / "s"),
                     check=False)
    assert result.returncode != 0
    for problem in problems:
        assert problem in result.stderr.decode()


def test_access_declarations_reach_the_manifest_and_its_validation(cli_table):
    def visits_catalog(mask: str, group: str) -> Catalog:
        @table(database="ephys", description="Visits", source=DeltaSource(str(cli_table)),
               schema=recordings(1, range(1)).schema, classification="phi",
               read_groups=["site-a"], read_principals=["auditor"],
               column_policies=[ColumnPolicy("session", "pii", mask, ("clinicians",))],
               row_filters=[RowFilter(group, "channel < 2")])
        def visits():
            pass

        return Catalog("lab", tables=[visits],
                       database_readers={"ephys": {"groups": ["clinicians"]}})

    manifest = json.loads(visits_catalog("'redacted'", "site-a").manifest())
    database = manifest["catalogs"][0]["databases"][0]
    assert database["read"] == {"principals": [], "groups": ["clinicians"]}
    visits = database["tables"][0]
    assert visits["classification"] == "phi"
    assert visits["read"] == {"principals": ["auditor"], "groups": ["site-a"]}
    assert visits["column_policies"] == [{"column": "session", "classification": "pii",
                                          "mask": "'redacted'",
                                          "unmasked_groups": ["clinicians"]}]
    assert visits["row_filters"] == [{"group": "site-a", "predicate": "channel < 2"}]
    problems = visits_catalog("", "site a").problems()
    assert any("'session' is pii but has no mask" in problem for problem in problems), problems
    assert any("'site a' is not a principal or group name" in problem for problem in problems)


def test_declared_table_reads(cli_table, tmp_path):
    catalog = lab_catalog(str(cli_table))
    assert catalog.find("ephys.samples").read(filter="channel = 5").num_rows == 100
    (tmp_path / "probes").mkdir()
    pq.write_table(pa.table({"electrode": [1, 2, 3]}), tmp_path / "probes" / "part.parquet")
    assert catalog.find("ephys.probes").read(root=tmp_path).num_rows == 3
    assert catalog.find("ephys.labels").read().num_rows == 2
    assert catalog.find("ephys.labels")().column_names == ["channel", "label"]


def free_port() -> int:
    configured = os.environ.get("NLK_TEST_SERVE_PORT")
    if configured:
        return int(configured)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_request(port: int, method: str, path: str, body: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_python_catalog_is_served_and_shown_by_nlk(cli_table, tmp_path):
    manifest = tmp_path / "lab.json"
    lab_catalog(str(cli_table)).write_manifest(manifest, root=tmp_path)

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [NLK_BIN, "serve", "--catalog-manifest", str(manifest), "-a", f"127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if http_request(port, "GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        query = ("SELECT channel, count(*) AS n FROM ephys.samples WHERE channel IN (5, 6) "
                 "GROUP BY channel ORDER BY channel")
        status, body = http_request(port, "POST", "/api/sql", query)
        assert status == 200, body
        assert json.loads(body) == [{"channel": 5, "n": 100}, {"channel": 6, "n": 100}]
        direct = neuralake.sql(query.replace("ephys.samples", "s"), tables={"s": cli_table})
        assert direct.to_pylist() == json.loads(body)
    finally:
        server.terminate()
        server.wait(timeout=30)
    # The function table has no code in the server and the Parquet one no data: both are
    # named on startup, neither stops the others from being served.
    text = log.read_text()
    assert "ephys.labels" in text

    # The declarations match the table; the Parquet table is not created yet and the function
    # table has no code here: neither fails the check nor counts as a problem on the site.
    check = run_nlk("catalog", "check", "--manifest", str(manifest)).stdout.decode()
    assert "ok          ephys.samples" in check
    assert "NOT CREATED ephys.probes" in check
    assert "NO CODE     ephys.labels" in check

    site = tmp_path / "site"
    written = run_nlk("catalog", "site", "--manifest", str(manifest), "--out", str(site))
    assert "with drift or unreadable" not in written.stdout.decode()
    assert "3 table pages" in written.stdout.decode()
    index = (site / "index.html").read_text()
    assert "ephys.samples" in index and "Raw voltage samples" in index
    page = (site / "tables" / "ephys.samples.html").read_text()
    assert "ephys-team" in page and "channel = 5" in page


def test_serve_refuses_an_invalid_or_missing_manifest(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({
        "format": "neuralake-catalog-manifest", "format_version": 1,
        "catalogs": [{"name": "lab", "databases": [{"name": "ephys", "tables": [
            {"name": "units", "kind": "delta"}]}]}]}))
    for manifest, expected in [
        (broken, "table ephys.units: uri: is missing"),
        (tmp_path / "absent.json", "cannot open the catalog manifest"),
    ]:
        result = run_nlk("serve", "--catalog-manifest", str(manifest), "-a",
                         f"127.0.0.1:{free_port()}", check=False)
        assert result.returncode == 1
        assert expected in result.stderr.decode()
