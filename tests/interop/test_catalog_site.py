"""Code as Catalog, end to end: the example catalog (examples/neural_catalog) over real tables
made by `nlk datagen`, its static site in headless Chromium, its Python snippets run as shown,
and `nlk catalog check` failing on drift.

Needs Debian's chromium and the websocket-client wheel (scripts/bootstrap.sh installs both).
Without chromium the browser tests skip, unless NLK_REQUIRE_BROWSER=1 (CI) makes them fail.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from browser import Browser, chromium_path
from jobs_harness import JOBS, run_job
from serve_harness import start_nlk_serve

NEURAL_KINDS = ("samples", "spikes", "band_power")


def make_dead_letters(path: Path, run_nlk) -> None:
    """A dead-letter table like nlk ingest writes (schema: src/ingest/dead_letter.h)."""
    utc = pa.timestamp("us", tz="UTC")
    schema = pa.schema([
        pa.field("topic", pa.string(), False), pa.field("partition", pa.int32(), False),
        pa.field("offset", pa.int64(), False), pa.field("message_timestamp", utc, True),
        pa.field("key", pa.binary(), True), pa.field("payload", pa.binary(), False),
        pa.field("reason", pa.string(), False), pa.field("ingested_at", utc, False)])
    rows = pa.table({
        "topic": ["neural.samples", "neural.samples"], "partition": [0, 1], "offset": [41, 7],
        "message_timestamp": [1767225600000000, None], "key": [b"device-001", None],
        "payload": [b"{\"device_id\": ", b"\x00\x01"],
        "reason": ["not JSON: unexpected end of input", "not JSON: invalid byte"],
        "ingested_at": [1767225601000000, 1767225601000000]}, schema=schema)
    source = path.parent / "dead_letters.parquet"
    pq.write_table(rows, source)
    run_nlk("table", "create", path / "neural" / "samples_dead_letters", "--input", source)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, nlk, run_nlk, spark) -> Path:
    """The example catalog's tables under one root: the raw ones created by the nlk CLI, the
    derived ones by the Spark jobs of jobs/ (in this session's Spark)."""
    root = tmp_path_factory.mktemp("catalog") / "lake"
    for kind in NEURAL_KINDS:
        run_nlk("datagen", "--kind", kind, "--duration", "2", "--devices", "2", "--channels", "8",
                "--table", root / "neural" / kind, "--partition-by", "date")
    make_dead_letters(root, run_nlk)
    os.environ.setdefault("NLK_BIN", str(nlk))
    for job in JOBS:
        run_job(spark, root, job)
    return root


@pytest.fixture(scope="module")
def site(lake, run_nlk) -> Path:
    out = lake.parent / "site"
    result = run_nlk("catalog", "site", "--root", lake, "--out", out)
    assert f"wrote {out / 'index.html'} and 11 table pages in {out / 'tables'}/" in result.stdout, \
        result.stdout
    assert len(list((out / "tables").glob("*.html"))) == 11
    return out


def snippet(site: Path, table: str, snippet_id: str) -> str:
    page = (site / "tables" / f"{table}.html").read_text()
    match = re.search(rf'<code id="snippet-{snippet_id}-code">(.*?)</code>', page, re.S)
    assert match, f"no {snippet_id} snippet on the page of {table}"
    return html.unescape(match.group(1))


@pytest.fixture
def browser():
    if chromium_path() is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("NLK_REQUIRE_BROWSER", "") not in ("", "0"):
            pytest.fail(message + " and NLK_REQUIRE_BROWSER=1", pytrace=False)
        pytest.skip(message)
    with Browser() as page:
        yield page


def test_check_passes_when_tables_match(lake, run_nlk):
    result = run_nlk("catalog", "check", "--root", lake)
    # ops.audit appears once nlk serve --audit-log writes it.
    assert ("all 10 existing tables match their declarations; 1 not created yet"
            in result.stdout), result.stdout


def test_check_reports_tables_not_created_yet_without_failing(tmp_path, run_nlk):
    # docs/catalog.md's first steps: the datagen tables exist; the dead letters appear only
    # once ingest rejects a message.
    root = tmp_path / "lake"
    for kind in NEURAL_KINDS:
        run_nlk("datagen", "--kind", kind, "--duration", "1", "--devices", "1", "--channels", "2",
                "--table", root / "neural" / kind, "--partition-by", "date")
    result = run_nlk("catalog", "check", "--root", root)
    dead_letters = root / "neural" / "samples_dead_letters"
    line = next(line for line in result.stdout.splitlines() if "samples_dead_letters" in line)
    assert line.startswith(f"NOT CREATED neural.samples_dead_letters: nothing at {dead_letters} "
                           "yet; it appears when its data input first writes it: nlk ingest, "
                           "in the same run as neural.samples"), line
    assert "nlk table create" not in line and "UNREADABLE" not in result.stdout
    # The dead letters, the four tables the Spark jobs derive and the audit log.
    assert "all 5 existing tables match their declarations; 6 not created yet" in result.stdout
    rollup = next(line for line in result.stdout.splitlines() if "samples_rollup" in line)
    assert "by the Spark job jobs/downsample.py" in rollup and "nlk table create" not in rollup
    out = tmp_path / "site"
    result = run_nlk("catalog", "site", "--root", root, "--out", out)
    assert "(6 not created yet)" in result.stdout, result.stdout
    page = (out / "tables" / "neural.samples_dead_letters.html").read_text()
    assert "Not created yet" in page and "could not be read" not in page


def test_manifest_lists_served_tables(lake, run_nlk, tmp_path):
    out = tmp_path / "manifest.json"
    run_nlk("catalog", "manifest", "--root", lake, "--out", out)
    manifest = json.loads(out.read_text())
    assert manifest["format_version"] == 1
    served = {entry["name"]: entry for entry in manifest["serve"]["tables"]}
    assert served["neural.samples"]["uri"] == str(lake / "neural" / "samples")
    assert served["neural.samples"]["format"] == "delta"
    assert served["neural.electrodes"]["format"] == "function"


def test_search_finds_a_column_and_opens_its_table(site, browser, tmp_path):
    browser.set_width(1280, 900)
    browser.open((site / "index.html").as_uri())
    browser.press("/")
    assert browser.evaluate("document.activeElement.id") == "search"
    browser.type_text("voltage_uv")
    first = browser.wait_for(
        "document.querySelector('#search-results li.active .result-name')?.textContent",
        "search results")
    assert first == "neural.samples"
    detail = browser.evaluate(
        "document.querySelector('#search-results li.active .result-detail').textContent")
    assert detail.startswith("column voltage_uv")
    browser.screenshot(tmp_path / "catalog-search.png", full_page=False)

    browser.press("Enter")
    browser.wait_for_page("neural.samples.html")
    schema = browser.evaluate("document.querySelector('#schema').innerText")
    for column in ("device_id", "channel", "voltage_uv", "date"):
        assert column in schema
    assert "partition" in schema
    curl = browser.evaluate("document.querySelector('#snippet-curl-code').textContent")
    assert "SELECT * FROM neural.samples WHERE device_id = 'device-001' AND channel = 3" in curl
    # Snippets sit in tabs: choosing one shows it and hides the others.
    browser.evaluate("[...document.querySelectorAll('.tabs button')]"
                     ".find(b => b.textContent.includes('Polars')).click()")
    assert browser.evaluate("document.querySelector('#snippet-polars').hidden") is False
    assert browser.evaluate("document.querySelector('#snippet-curl').hidden") is True
    facts = browser.evaluate("document.querySelector('#facts').innerText")
    assert "VERSION" in facts.upper() and "ROWS" in facts.upper()
    shot = browser.screenshot(tmp_path / "catalog-table.png")
    assert shot.stat().st_size > 10_000
    browser.set_width(390, 844, mobile=True)
    browser.open((site / "tables" / "neural.samples.html").as_uri())
    overflow = browser.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False, "the table page scrolls sideways on a phone"
    browser.screenshot(tmp_path / "catalog-table-phone.png")
    print(f"screenshots in {tmp_path}")


def test_keyboard_moves_through_results(site, browser):
    browser.set_width(1280, 900)
    browser.open((site / "index.html").as_uri())
    browser.press("/")
    browser.type_text("channel")
    browser.wait_for("document.querySelectorAll('#search-results li[role=option]').length > 1",
                     "several results")
    first = browser.evaluate("document.querySelector('#search-results li.active').id")
    browser.press("ArrowDown")
    second = browser.evaluate("document.querySelector('#search-results li.active').id")
    assert (first, second) == ("result-0", "result-1")
    name = browser.evaluate(
        "document.querySelector('#search-results li.active .result-name').textContent")
    browser.press("Enter")
    browser.wait_for_page(f"{name}.html")


def test_deprecated_table_shows_a_banner(site, browser):
    browser.open((site / "tables" / "neural.channel_map.html").as_uri())
    banner = browser.evaluate("document.querySelector('.banner.warn').innerText")
    assert "Deprecated" in banner and "neural.electrodes" in banner


@pytest.mark.parametrize("table", ["neural.samples", "neural.spikes", "neural.band_power",
                                   "neural.samples_dead_letters"])
@pytest.mark.parametrize("snippet_id", ["deltalake", "polars", "pyarrow"])
def test_python_snippets_run_as_shown(site, table, snippet_id):
    code = snippet(site, table, snippet_id)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"{snippet_id} snippet of {table} failed:\n{code}\n{result.stderr}"
    first_column = "topic" if table.endswith("dead_letters") else "device_id"
    assert first_column in result.stdout, result.stdout
    if snippet_id == "polars":
        shape = re.search(r"shape: \((\d+),", result.stdout)
        assert shape and int(shape.group(1)) > 0, f"the docs filter matched no row:\n{result.stdout}"


@pytest.mark.spark
def test_pyspark_snippet_runs_with_delta_spark(site, spark):
    """The snippet's session setup resolves delta-spark with --packages, which this offline
    machine cannot; the test's session has the same configuration with local jars, so the
    rest of the snippet runs as shown against it."""
    code = snippet(site, "neural.samples", "pyspark")
    body = code.split("spark = configure_spark_with_delta_pip(builder).getOrCreate()\n", 1)[1]
    namespace = {"spark": spark}
    exec(compile(body, "pyspark-snippet", "exec"), namespace)
    assert namespace["rows"].count() > 0


@pytest.fixture(scope="module")
def catalog_server(lake, tmp_path_factory):
    """`nlk serve --catalog`: every stored table of the catalog, served as database.table."""
    server = start_nlk_serve(["--catalog", "--root", lake], tmp_path_factory.mktemp("serve"))
    yield server
    server.stop()


def test_serve_catalog_lists_database_table_names(catalog_server):
    response = catalog_server.get("/api/schema")
    assert response.status == 200, response.body
    # Function tables are served too, as the rows their function returned at startup.
    assert set(response.json()) == {"neural.samples", "neural.spikes", "neural.band_power",
                                    "neural.samples_dead_letters", "neural.samples_rollup",
                                    "neural.unit_firing_rates", "neural.unit_quality",
                                    "neural.session_summaries", "neural.electrodes",
                                    "neural.channel_map"}
    assert "skipping" not in catalog_server.log_text()
    rest = catalog_server.get("/api/tables/neural.samples?limit=2")
    assert rest.status == 200 and len(rest.json()) == 2, rest.body
    for name in ("neural.samples", '"neural.samples"'):
        result = catalog_server.sql(f"SELECT count(*) AS n FROM {name}")
        assert result.status == 200 and result.json()[0]["n"] > 0, result.body
    # The example's layout: 2 devices of 32 channels, half of each shank in M1.
    result = catalog_server.sql("SELECT count(*) AS n FROM neural.electrodes WHERE region = 'M1'")
    assert result.status == 200 and result.json()[0]["n"] == 32, result.body
    rest = catalog_server.get("/api/tables/neural.channel_map?limit=3")
    assert rest.status == 200, rest.body
    rows = rest.json()
    assert len(rows) == 3 and set(rows[0]) == {"device_id", "channel", "region"}, rows


def test_serve_answers_queries_on_the_spark_tables(catalog_server):
    """The derived tables the Spark jobs wrote, served by nlk like the raw ones."""
    result = catalog_server.sql(
        "SELECT r.resolution, count(*) AS n, sum(r.sample_count) AS samples "
        "FROM neural.samples_rollup r GROUP BY r.resolution ORDER BY r.resolution")
    assert result.status == 200, result.body
    rows = {row["resolution"]: row for row in result.json()}
    raw = catalog_server.sql("SELECT count(*) AS n FROM neural.samples").json()[0]["n"]
    assert set(rows) == {"10ms", "1s", "1min"} and all(
        row["samples"] == raw for row in rows.values()), rows
    result = catalog_server.sql(
        "SELECT s.device_id, s.sample_count, q.units FROM neural.session_summaries s JOIN "
        "(SELECT device_id, count(*) AS units FROM neural.unit_quality GROUP BY device_id) q "
        "ON s.device_id = q.device_id ORDER BY s.device_id")
    assert result.status == 200 and len(result.json()) == 2, result.body


def test_site_shows_the_lineage_of_derived_tables(site, browser):
    browser.open((site / "tables" / "neural.session_summaries.html").as_uri())
    lineage = browser.evaluate("document.querySelector('#lineage').innerText")
    assert "Derived from neural.samples and neural.band_power by jobs/session_summaries.py" in \
        lineage, lineage
    assert "written by spark" in lineage
    browser.evaluate("[...document.querySelectorAll('#lineage a')]"
                     ".find(a => a.textContent === 'neural.samples').click()")
    browser.wait_for_page("neural.samples.html")
    feeds = browser.evaluate("document.querySelector('#lineage').innerText")
    for derived in ("neural.samples_rollup", "neural.session_summaries"):
        assert derived in feeds, feeds
    about = browser.evaluate("document.querySelector('.meta').innerText")
    assert "Written by" in about and "nlk" in about, about


def test_sql_snippet_runs_against_nlk_serve(site, catalog_server):
    code = snippet(site, "neural.samples", "curl")
    assert "http://127.0.0.1:8080/" in code, code
    code = code.replace("http://127.0.0.1:8080/", f"http://127.0.0.1:{catalog_server.port}/")
    result = subprocess.run(["sh", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"curl snippet failed:\n{code}\n{result.stderr}"
    rows = json.loads(result.stdout)
    assert rows and rows[0]["device_id"] == "device-001" and rows[0]["channel"] == 3, rows[:1]


def test_check_fails_on_a_drifted_table(tmp_path, run_nlk, site):
    root = tmp_path / "lake"
    # band_power stored with the spikes schema and without partitions: columns, types and
    # partitioning all differ from the declaration.
    run_nlk("datagen", "--kind", "spikes", "--duration", "1", "--table",
            root / "neural" / "band_power")
    run_nlk("datagen", "--kind", "samples", "--duration", "1", "--table",
            root / "neural" / "samples", "--partition-by", "date")
    # spikes: a log that cannot be read.
    spikes_log = root / "neural" / "spikes" / "_delta_log"
    spikes_log.mkdir(parents=True)
    (spikes_log / f"{0:020d}.json").write_text('{"add": ')
    result = run_nlk("catalog", "check", "--root", root, check=False)
    assert result.returncode == 1
    assert "ok          neural.samples\n" in result.stdout
    assert "DRIFT       neural.band_power" in result.stdout
    assert "column 'band' is declared but the table has no such column" in result.stdout
    assert "column 'unit' is in the table but not declared" in result.stdout
    assert "partition columns: declared [date], the table has []" in result.stdout
    assert "UNREADABLE  neural.spikes" in result.stdout
    assert "NOT CREATED neural.samples_dead_letters" in result.stdout
    assert "catalog check:" in result.stderr

    out = tmp_path / "site"
    run_nlk("catalog", "site", "--root", root, "--out", out)
    page = (out / "tables" / "neural.band_power.html").read_text()
    assert "Schema drift" in page and "column &#39;band&#39; is declared" in page
