#include "server/status_page.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "server/api_error.h"

namespace nlk::server {

// Kept as one literal so the binary serves the page with no files beside it. The script reads
// its settings from the query string: table (the samples table; default: the first served table
// whose name contains "sample"), deadletters (default: one containing "dead"), elt (output tables
// of the ELT jobs, comma-separated), runs (the ELT runs table; default: one containing
// "elt_runs"), ingest (the status source of nlk ingest's /metrics; default "ingest"), device and
// channel (the signal charted).
std::string_view StatusPageHtml() {
  static constexpr std::string_view kPage = R"page(
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Neuralake live status</title>
<style>
:root { --fg: #1b1f24; --muted: #5b6570; --bg: #f6f7f9; --card: #fff; --line: #d5dae0; --accent: #0b63c5; --bad: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: baseline; padding: .75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 1.15rem; margin: 0; }
h2 { font-size: .95rem; margin: 0 0 .5rem; color: var(--muted); font-weight: 600; }
main { padding: 1rem; display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); max-width: 80rem; margin: 0 auto; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; min-width: 0; }
section.wide { grid-column: 1 / -1; }
dl { display: grid; grid-template-columns: auto auto; gap: .25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .25rem .5rem .25rem 0; border-bottom: 1px solid var(--line); }
td.number, th.number { text-align: right; }
.scroll { overflow-x: auto; }
#state { color: var(--muted); }
#state.error { color: var(--bad); }
.note { margin: .5rem 0 0; font-size: .85rem; color: var(--muted); }
canvas { width: 100%; height: 14rem; display: block; }
form { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: end; }
label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); }
input, button { font: inherit; padding: .25rem .4rem; border: 1px solid var(--line); border-radius: 4px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
</style>
</head>
<body>
<header>
  <h1>Neuralake live status</h1>
  <span id="state" role="status" aria-live="polite">connecting…</span>
</header>
<main>
  <section aria-labelledby="flow-title">
    <h2 id="flow-title">Data flow</h2>
    <dl>
      <dt>Samples/s ingested</dt><dd id="samples-rate">–</dd>
      <dt>Rows queryable</dt><dd id="rows">–</dd>
      <dt>Commits/s</dt><dd id="commit-rate">–</dd>
      <dt>Dead letters</dt><dd id="dead-letters">–</dd>
    </dl>
    <p class="note" id="rate-source"></p>
  </section>
  <section aria-labelledby="fresh-title">
    <h2 id="fresh-title">Freshness</h2>
    <dl>
      <dt>Newest commit age</dt><dd id="commit-age">–</dd>
      <dt>Commit → queryable p50</dt><dd id="fresh-p50">–</dd>
      <dt>Commit → queryable p99</dt><dd id="fresh-p99">–</dd>
      <dt>Versions observed</dt><dd id="fresh-count">–</dd>
    </dl>
  </section>
  <section aria-labelledby="query-title">
    <h2 id="query-title">SQL queries</h2>
    <dl>
      <dt>p50</dt><dd id="query-p50">–</dd>
      <dt>p99</dt><dd id="query-p99">–</dd>
      <dt>Answered</dt><dd id="query-count">–</dd>
      <dt>Rejected</dt><dd id="rejected">–</dd>
    </dl>
  </section>
  <section class="wide" aria-labelledby="chart-title">
    <h2 id="chart-title">Signal, last 10 s</h2>
    <canvas id="chart" role="img" aria-label="voltage of one channel over the last 10 seconds"></canvas>
    <p id="chart-summary"></p>
  </section>
  <section class="wide" aria-labelledby="tables-title">
    <h2 id="tables-title">Tables</h2>
    <div class="scroll">
      <table>
        <thead><tr><th scope="col">Table</th><th scope="col" class="number">Version</th><th scope="col" class="number">Files</th><th scope="col" class="number">Last commit</th></tr></thead>
        <tbody id="tables"></tbody>
      </table>
    </div>
  </section>
  <section class="wide" aria-labelledby="runs-title">
    <h2 id="runs-title">Last ELT run per job</h2>
    <div class="scroll">
      <table>
        <thead><tr><th scope="col">Job</th><th scope="col" class="number">Ended</th><th scope="col" class="number">Took</th><th scope="col" class="number">Result</th></tr></thead>
        <tbody id="runs"></tbody>
      </table>
    </div>
  </section>
  <section class="wide" aria-labelledby="elt-title">
    <h2 id="elt-title">ELT output tables</h2>
    <div class="scroll">
      <table>
        <thead><tr><th scope="col">Output table</th><th scope="col" class="number">Version</th><th scope="col" class="number">Committed</th></tr></thead>
        <tbody id="elt"></tbody>
      </table>
    </div>
  </section>
  <section class="wide" aria-labelledby="settings-title">
    <h2 id="settings-title">Settings</h2>
    <form id="settings">
      <label>Samples table <input name="table" id="setting-table"></label>
      <label>Dead-letter table <input name="deadletters" id="setting-deadletters"></label>
      <label>ELT output tables (comma-separated) <input name="elt" id="setting-elt"></label>
      <label>ELT runs table <input name="runs" id="setting-runs"></label>
      <label>Ingest metrics source <input name="ingest" id="setting-ingest"></label>
      <label>Device <input name="device" id="setting-device"></label>
      <label>Channel <input name="channel" id="setting-channel" inputmode="numeric"></label>
      <button type="submit">Apply</button>
    </form>
  </section>
</main>
<script>
"use strict";
const params = new URLSearchParams(location.search);
// A server with tokens needs one on every call: opened as /ui#token=..., the page keeps it for
// this tab only and takes it out of the address bar.
const tokenInHash = new URLSearchParams(location.hash.slice(1)).get("token");
if (tokenInHash) {
  sessionStorage.setItem("nlk-token", tokenInHash);
  window.history.replaceState(null, "", location.pathname + location.search);
}
const token = sessionStorage.getItem("nlk-token");
async function call(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) {
    throw new Error(token ? "the token was refused (revoked?); open /ui#token=<token> with a valid one"
                          : "this server needs a token: open /ui#token=<token>");
  }
  return response;
}
const settings = {
  table: params.get("table") || "",
  deadletters: params.get("deadletters") || "",
  elt: (params.get("elt") || "").split(",").filter(Boolean),
  runs: params.get("runs") || "",
  ingest: params.get("ingest") || "ingest",
  device: params.get("device") || "",
  channel: Number.parseInt(params.get("channel") || "0", 10) || 0,
};
for (const [key, value] of Object.entries(settings)) {
  document.getElementById("setting-" + key).value = Array.isArray(value) ? value.join(",") : value;
}
const history = [];  // {at, metrics, rows, ingest}; the last ten polls
const $ = id => document.getElementById(id);

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}
function pick(samples, name, labels = {}) {
  return samples.filter(s => s.name === name &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}
function one(samples, name, labels) {
  const found = pick(samples, name, labels);
  return found.length ? found[0].value : undefined;
}
// Cumulative buckets [{le, count}] of a histogram.
function buckets(samples, name, labels) {
  return pick(samples, name + "_bucket", labels)
    .map(s => ({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
}
// The upper bound of the bucket holding quantile q, from cumulative buckets minus an earlier
// scrape's (so the figure covers recent observations), interpolated inside the bucket.
function quantile(q, now, before) {
  const counts = now.map((b, i) => ({ le: b.le, count: b.count - (before && before[i] ? before[i].count : 0) }));
  const total = counts.length ? counts[counts.length - 1].count : 0;
  if (!total) return undefined;
  const rank = q * total;
  let lower = 0, below = 0;
  for (const b of counts) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower;
      const inside = b.count - below;
      return inside ? lower + (b.le - lower) * (rank - below) / inside : b.le;
    }
    lower = b.le; below = b.count;
  }
  return lower;
}
function seconds(value) {
  if (value === undefined || Number.isNaN(value)) return "–";
  if (value < 1) return (value * 1000).toFixed(value < 0.01 ? 2 : 0) + " ms";
  if (value < 120) return value.toFixed(1) + " s";
  return (value / 60).toFixed(1) + " min";
}
function number(value, digits = 0) {
  return value === undefined || Number.isNaN(value) ? "–" : value.toLocaleString("en-US", { maximumFractionDigits: digits });
}
function quote(name) { return '"' + name.replace(/"/g, '""') + '"'; }
function literal(text) { return "'" + text.replace(/'/g, "''") + "'"; }

async function sql(query) {
  const response = await call("api/sql", { method: "POST", body: query, headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error("SQL " + response.status + ": " + (await response.text()).slice(0, 200));
  return response.json();
}

function cell(text, numeric) {
  const td = document.createElement("td");
  td.textContent = text;
  if (numeric) td.className = "number";
  return td;
}
function row(cells) {
  const tr = document.createElement("tr");
  cells.forEach(c => tr.appendChild(c));
  return tr;
}

async function poll() {
  const at = performance.now();
  const metrics = parseMetrics(await (await call("metrics")).text());
  const tables = pick(metrics, "nlk_table_snapshot_version").map(s => s.labels.table);
  const table = settings.table || tables.find(t => /sample/i.test(t)) ||
    tables.find(t => !/dead/i.test(t)) || tables[0];
  const deadletters = settings.deadletters || tables.find(t => /dead/i.test(t));
  let rows, dead;
  if (table) rows = Number((await sql("SELECT count(*) AS n FROM " + quote(table)))[0].n);
  if (deadletters) dead = Number((await sql("SELECT count(*) AS n FROM " + quote(deadletters)))[0].n);
  const ingest = await ingestFigures();
  history.push({ at, metrics, rows, ingest: ingest.figures });
  while (history.length > 11) history.shift();
  const first = history[0];
  const span = (at - first.at) / 1000;

  $("rows").textContent = number(rows);
  $("dead-letters").textContent = deadletters ? number(dead) : "no table";
  // Rates from ingest's own counters when the server can reach them (a restarted ingest starts
  // them again from 0: no rate until the window holds only the new process); else the growth
  // of the samples table.
  const since = history.find(h => h.ingest);
  if (ingest.figures && since && since !== history[history.length - 1] &&
      ingest.figures.rows >= since.ingest.rows && ingest.figures.commits >= since.ingest.commits) {
    const seconds = (at - since.at) / 1000;
    $("samples-rate").textContent = number((ingest.figures.rows - since.ingest.rows) / seconds, 1);
    $("commit-rate").textContent = number((ingest.figures.commits - since.ingest.commits) / seconds, 2);
    $("rate-source").textContent = "Rates from nlk ingest's /metrics (rows and commits).";
  } else if (ingest.figures) {
    $("samples-rate").textContent = "–";
    $("commit-rate").textContent = "–";
    $("rate-source").textContent = "Rates from nlk ingest's /metrics: waiting for a second reading.";
  } else {
    $("samples-rate").textContent = span > 0 && rows !== undefined && first.rows !== undefined
      ? number((rows - first.rows) / span, 1) : "–";
    const version = one(metrics, "nlk_table_snapshot_version", { table });
    const firstVersion = one(first.metrics, "nlk_table_snapshot_version", { table });
    $("commit-rate").textContent = span > 0 && version !== undefined ? number((version - firstVersion) / span, 2) : "–";
    $("rate-source").textContent = "Rates from the samples table's growth (" + ingest.why + ").";
  }

  $("commit-age").textContent = seconds(one(metrics, "nlk_table_commit_age_seconds", { table }));
  const fresh = buckets(metrics, "nlk_serve_freshness_seconds", { table });
  $("fresh-p50").textContent = seconds(quantile(0.5, fresh));
  $("fresh-p99").textContent = seconds(quantile(0.99, fresh));
  $("fresh-count").textContent = number(one(metrics, "nlk_serve_freshness_seconds_count", { table }));

  const latency = buckets(metrics, "nlk_http_request_duration_seconds", { endpoint: "sql" });
  const latencyBefore = buckets(first.metrics, "nlk_http_request_duration_seconds", { endpoint: "sql" });
  const recent = first !== history[history.length - 1] ? latencyBefore : undefined;
  $("query-p50").textContent = seconds(quantile(0.5, latency, recent) ?? quantile(0.5, latency));
  $("query-p99").textContent = seconds(quantile(0.99, latency, recent) ?? quantile(0.99, latency));
  $("query-count").textContent = number(one(metrics, "nlk_http_request_duration_seconds_count", { endpoint: "sql" }));
  $("rejected").textContent = number(pick(metrics, "nlk_requests_rejected_total").reduce((a, s) => a + s.value, 0));

  const tbody = $("tables");
  // A function table's rows are computed once, held in memory, with no version or commits.
  const versionText = name => {
    const version = one(metrics, "nlk_table_snapshot_version", { table: name });
    return version !== undefined && version < 0 ? "in memory" : number(version);
  };
  const ageText = name => {
    const age = one(metrics, "nlk_table_commit_age_seconds", { table: name });
    return age === undefined ? "–" : seconds(age) + " ago";
  };
  tbody.replaceChildren(...tables.map(name => row([
    cell(name), cell(versionText(name), true),
    cell(number(one(metrics, "nlk_table_files", { table: name })), true),
    cell(ageText(name), true)])));
  const elt = settings.elt.length ? settings.elt : [];
  $("elt").replaceChildren(...(elt.length ? elt.map(name => {
    const known = tables.includes(name);
    const absent = one(metrics, "nlk_table_state", { table: name, state: "not_created" }) === 1
      ? "not created yet" : "not served";
    return row([cell(name), cell(known ? versionText(name) : absent, true),
      cell(known ? ageText(name) : "–", true)]);
  }) : [row([cell("no ELT output tables given (?elt=a,b)"), cell("", true), cell("", true)])]));

  const configured = pick(metrics, "nlk_table_state").map(s => s.labels.table);
  await showRuns(settings.runs || configured.find(t => /elt_runs/i.test(t)));
  if (table) await drawChart(table);
}

// nlk ingest's rows and commits so far, from its /metrics as this server fetches it.
async function ingestFigures() {
  const response = await call("ui/metrics/" + encodeURIComponent(settings.ingest));
  if (!response.ok) {
    const error = await response.json().catch(() => ({}));
    return { why: response.status === 404 ? "no ingest metrics source '" + settings.ingest + "'"
                                          : "ingest's /metrics: " + (error.message || response.status) };
  }
  const samples = parseMetrics(await response.text());
  const total = name => pick(samples, name).reduce((sum, s) => sum + s.value, 0);
  return { figures: { rows: total("nlk_ingest_rows_committed_total"),
                      commits: total("nlk_ingest_commits_total") } };
}

// Each job's newest row of the ELT runs table (job, started, finished, exit_status).
async function showRuns(runs) {
  const body = $("runs");
  if (!runs) {
    body.replaceChildren(row([cell("no ELT runs table (?runs=name)"), cell("", true), cell("", true), cell("", true)]));
    return;
  }
  const response = await call("api/sql", { method: "POST", headers: { Accept: "application/json" },
    body: "SELECT job, epoch_ms(started) AS started, epoch_ms(finished) AS finished, exit_status FROM " +
          quote(runs) + " ORDER BY finished DESC LIMIT 100" });
  if (response.status === 404 && (await response.json().catch(() => ({}))).error === "table_not_created") {
    body.replaceChildren(row([cell("no ELT run has ended yet"), cell("", true), cell("", true), cell("", true)]));
    return;
  }
  if (!response.ok) throw new Error("SQL " + response.status + " on " + runs);
  const latest = new Map();
  for (const run of await response.json()) if (!latest.has(run.job)) latest.set(run.job, run);
  body.replaceChildren(...[...latest.values()].sort((a, b) => a.job.localeCompare(b.job)).map(run => row([
    cell(run.job), cell(seconds((Date.now() - Number(run.finished)) / 1000) + " ago", true),
    cell(seconds((Number(run.finished) - Number(run.started)) / 1000), true),
    cell(Number(run.exit_status) === 0 ? "ok" : "failed (exit " + run.exit_status + ")", true)])));
}

async function drawChart(table) {
  const recent = "timestamp > now() - INTERVAL '10 seconds'";
  const device = settings.device
    ? literal(settings.device)
    : "(SELECT min(device_id) FROM " + quote(table) + " WHERE " + recent + ")";
  const points = await sql("SELECT epoch_ms(timestamp) AS t, voltage_uv AS v FROM " + quote(table) +
    " WHERE " + recent + " AND channel = " + settings.channel + " AND device_id = " + device +
    " ORDER BY timestamp");
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  context.clearRect(0, 0, width, height);
  const end = Date.now(), start = end - 10000;
  context.strokeStyle = "#d5dae0";
  for (let s = 0; s <= 10; ++s) {
    const x = (s / 10) * width;
    context.beginPath(); context.moveTo(x, 0); context.lineTo(x, height); context.stroke();
  }
  if (!points.length) {
    $("chart-summary").textContent = "No samples of channel " + settings.channel + " in the last 10 s.";
    return;
  }
  const values = points.map(p => Number(p.v));
  let low = Math.min(...values), high = Math.max(...values);
  if (high === low) { high += 1; low -= 1; }
  context.strokeStyle = "#0b63c5";
  context.lineWidth = 1.5;
  context.beginPath();
  points.forEach((p, i) => {
    const x = ((Number(p.t) - start) / 10000) * width;
    const y = height - 4 - ((Number(p.v) - low) / (high - low)) * (height - 8);
    if (i === 0) context.moveTo(x, y); else context.lineTo(x, y);
  });
  context.stroke();
  $("chart-summary").textContent = points.length + " samples of channel " + settings.channel +
    ", " + number(low, 1) + " to " + number(high, 1) + " µV.";
}

$("settings").addEventListener("submit", event => {
  event.preventDefault();
  const next = new URLSearchParams();
  for (const [key, value] of new FormData(event.target)) if (value) next.set(key, value);
  location.search = next.toString();
});

let polls = 0;
async function loop() {
  try {
    await poll();
    ++polls;
    $("state").textContent = "updated " + new Date().toLocaleTimeString() + " (" + polls + " polls)";
    $("state").className = "";
  } catch (error) {
    $("state").textContent = "error: " + error.message;
    $("state").className = "error";
  }
  setTimeout(loop, 1000);
}
loop();
</script>
</body>
</html>
)page";
  return kPage;
}

arrow::Result<StatusSource> ParseStatusSource(const std::string& argument) {
  const std::string expected =
      "--status-metrics '" + argument + "': expected NAME=HOST:PORT, e.g. ingest=127.0.0.1:9464";
  const size_t equals = argument.find('=');
  const size_t colon = argument.rfind(':');
  if (equals == std::string::npos || colon == std::string::npos || colon < equals) {
    return arrow::Status::Invalid(expected);
  }
  StatusSource source{argument.substr(0, equals), argument.substr(equals + 1, colon - equals - 1),
                      argument.substr(colon + 1)};
  const bool name_ok =
      !source.name.empty() && std::all_of(source.name.begin(), source.name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
      });
  if (!name_ok) {
    return arrow::Status::Invalid(expected, " (the name takes letters, digits, '-' and '_')");
  }
  int port = 0;
  const char* end = source.port.data() + source.port.size();
  auto [stop, error] = std::from_chars(source.port.data(), end, port);
  if (source.host.empty() || error != std::errc() || stop != end || port < 1 || port > 65535) {
    return arrow::Status::Invalid(expected);
  }
  return source;
}

arrow::Result<std::string> FetchStatusSource(const std::vector<StatusSource>& sources,
                                             std::string_view name) {
  auto found = std::find_if(sources.begin(), sources.end(),
                            [&](const StatusSource& source) { return source.name == name; });
  if (found == sources.end()) {
    return MakeApiError(404, "unknown_status_source",
                        "no status source named '" + std::string(name) +
                            "' (nlk serve --status-metrics NAME=HOST:PORT)");
  }
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  // Asynchronous steps under one deadline: a source that accepts and never answers, or a host
  // that drops the connection attempt, costs the worker kStatusSourceTimeout, not the OS's.
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  http::request<http::empty_body> request{http::verb::get, "/metrics", 11};
  request.set(http::field::host, found->host + ":" + found->port);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  bool done = false;
  beast::error_code failure;
  auto finish = [&](beast::error_code error) {
    failure = error;
    done = true;
  };
  stream.expires_after(kStatusSourceTimeout);
  resolver.async_resolve(
      found->host, found->port,
      [&](beast::error_code error, asio::ip::tcp::resolver::results_type endpoints) {
        if (error) return finish(error);
        stream.async_connect(endpoints, [&](beast::error_code error, const auto&) {
          if (error) return finish(error);
          http::async_write(stream, request, [&](beast::error_code error, size_t) {
            if (error) return finish(error);
            http::async_read(stream, buffer, response,
                             [&](beast::error_code error, size_t) { finish(error); });
          });
        });
      });
  io.run_for(kStatusSourceTimeout);
  const bool timed_out = !done;
  if (timed_out) {
    // Cancels what is pending; its handlers run (and record nothing new) before returning.
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().close(ignored);
    io.restart();
    io.run();
  }
  const std::string where =
      "status source '" + found->name + "' (" + found->host + ":" + found->port + "/metrics)";
  if (timed_out) {
    return MakeApiError(
        502, "status_source_unavailable",
        where + " did not answer within " + std::to_string(kStatusSourceTimeout.count()) + " ms");
  }
  if (failure) {
    return MakeApiError(502, "status_source_unavailable", where + ": " + failure.message());
  }
  if (response.result_int() != 200) {
    return MakeApiError(502, "status_source_unavailable",
                        where + " answered HTTP " + std::to_string(response.result_int()));
  }
  return std::move(response.body());
}

}  // namespace nlk::server
