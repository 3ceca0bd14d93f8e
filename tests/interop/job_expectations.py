"""What the ELT jobs in jobs/ must produce, computed independently with DuckDB from the same
source rows, and a comparison that names the first row that differs.

The SQL here is written from the definitions in the catalog's descriptions and the jobs'
docstrings, not from the jobs' code: a job that computes something else fails. Sums of floats
may add up in another order, so floating-point columns are compared to a relative 1e-9; counts,
keys and timestamps exactly.
"""

from __future__ import annotations

import math

import duckdb
import pyarrow as pa

ROLLUP_SQL = """
WITH widths(resolution, width) AS (VALUES ('10ms', 10000), ('1s', 1000000), ('1min', 60000000)),
s AS (SELECT device_id, session_id, channel, epoch_us("timestamp") AS us,
             CAST(voltage_uv AS DOUBLE) AS v FROM samples)
SELECT resolution, device_id, session_id, channel, us - us % width AS window_start,
       count(*) AS sample_count, min(v) AS min_uv, max(v) AS max_uv, avg(v) AS mean_uv,
       sqrt(avg(v * v)) AS rms_uv
FROM s CROSS JOIN widths
GROUP BY ALL
"""

RATES_SQL = """
SELECT s.device_id, s.session_id, s.channel, s.unit,
       epoch_us("timestamp") - epoch_us("timestamp") % 1000000 AS bin_start,
       count(*) AS spike_count, CAST(count(*) AS DOUBLE) AS rate_hz, any_value(e.shank) AS shank,
       any_value(e.region) AS region
FROM spikes s LEFT JOIN electrodes e USING (device_id, channel)
GROUP BY s.device_id, s.session_id, s.channel, s.unit, bin_start
"""

QUALITY_SQL = """
WITH ordered AS (
  SELECT device_id, session_id, channel, unit, epoch_us("timestamp") AS us,
         CAST(amplitude_uv AS DOUBLE) AS amplitude,
         epoch_us("timestamp") - lag(epoch_us("timestamp")) OVER w AS isi,
         row_number() OVER w AS position,
         count(*) OVER (PARTITION BY device_id, session_id, channel, unit) AS n
  FROM spikes
  WINDOW w AS (PARTITION BY device_id, session_id, channel, unit ORDER BY "timestamp")),
units AS (
  SELECT device_id, session_id, channel, unit, count(*) AS spike_count, min(us) AS first_spike,
         max(us) AS last_spike, count(*) FILTER (WHERE isi < 1500) AS isi_violations,
         avg(amplitude) AS amplitude_mean_uv, stddev_samp(amplitude) AS amplitude_std,
         avg(amplitude) FILTER (WHERE position <= n // 2) AS first_half,
         avg(amplitude) FILTER (WHERE position > n // 2) AS second_half
  FROM ordered GROUP BY ALL)
SELECT u.device_id, u.session_id, u.channel, u.unit, e.shank, e.depth_um, e.region,
       spike_count, first_spike, last_spike,
       CASE WHEN spike_count > 1 AND last_spike > first_spike
            THEN (spike_count - 1) / ((last_spike - first_spike) / 1e6) END AS mean_rate_hz,
       isi_violations,
       CASE WHEN spike_count > 1 THEN isi_violations / (spike_count - 1) END AS isi_violation_ratio,
       amplitude_mean_uv,
       CASE WHEN amplitude_mean_uv <> 0 THEN amplitude_std / abs(amplitude_mean_uv) END
         AS amplitude_cv,
       CASE WHEN spike_count > 1 AND amplitude_mean_uv <> 0
            THEN (second_half - first_half) / abs(amplitude_mean_uv) END AS amplitude_drift
FROM units u LEFT JOIN electrodes e USING (device_id, channel)
"""

SUMMARY_SQL = """
WITH per_session AS (
  SELECT device_id, session_id, min(epoch_us("timestamp")) AS start_time,
         max(epoch_us("timestamp")) AS end_time, count(*) AS sample_count,
         count(DISTINCT channel) AS channel_count
  FROM samples GROUP BY ALL),
per_timestamp AS (
  SELECT device_id, session_id, epoch_us("timestamp") AS us,
         count(DISTINCT channel) AS reporting,
         epoch_us("timestamp") - lag(epoch_us("timestamp")) OVER
           (PARTITION BY device_id, session_id ORDER BY "timestamp") AS step
  FROM samples GROUP BY device_id, session_id, "timestamp"),
step_counts AS (
  SELECT device_id, session_id, step, count(*) AS steps FROM per_timestamp
  WHERE step IS NOT NULL GROUP BY ALL),
interval AS (
  SELECT device_id, session_id, first(step ORDER BY steps DESC, step ASC) AS sample_interval_us
  FROM step_counts GROUP BY ALL),
timestamps AS (
  SELECT t.device_id, t.session_id, count(*) AS timestamp_count,
         count(*) FILTER (WHERE t.step > i.sample_interval_us * 1.5) AS gap_count,
         coalesce(sum(round(t.step / i.sample_interval_us) - 1)
                  FILTER (WHERE t.step > i.sample_interval_us * 1.5), 0) AS missing_timestamps,
         count(*) FILTER (WHERE t.reporting < p.channel_count) AS incomplete_timestamps,
         any_value(i.sample_interval_us) AS sample_interval_us
  FROM per_timestamp t JOIN per_session p USING (device_id, session_id)
  LEFT JOIN interval i USING (device_id, session_id)
  GROUP BY t.device_id, t.session_id),
bands AS (
  SELECT device_id, session_id, count(DISTINCT "timestamp") AS band_power_windows,
         avg(power_uv2) FILTER (WHERE band = 'delta') AS mean_delta_uv2,
         avg(power_uv2) FILTER (WHERE band = 'theta') AS mean_theta_uv2,
         avg(power_uv2) FILTER (WHERE band = 'alpha') AS mean_alpha_uv2,
         avg(power_uv2) FILTER (WHERE band = 'beta') AS mean_beta_uv2,
         avg(power_uv2) FILTER (WHERE band = 'gamma') AS mean_gamma_uv2
  FROM band_power GROUP BY ALL)
SELECT p.device_id, p.session_id, start_time, end_time, (end_time - start_time) / 1e6 AS duration_s,
       sample_count, channel_count, timestamp_count, sample_interval_us, gap_count,
       CAST(missing_timestamps AS BIGINT) AS missing_timestamps, incomplete_timestamps,
       coalesce(band_power_windows, 0) AS band_power_windows, mean_delta_uv2, mean_theta_uv2,
       mean_alpha_uv2, mean_beta_uv2, mean_gamma_uv2
FROM per_session p JOIN timestamps USING (device_id, session_id)
LEFT JOIN bands USING (device_id, session_id)
"""

KEYS = {
    "neural.samples_rollup": ["resolution", "device_id", "session_id", "channel", "window_start"],
    "neural.unit_firing_rates": ["device_id", "session_id", "channel", "unit", "bin_start"],
    "neural.unit_quality": ["device_id", "session_id", "channel", "unit"],
    "neural.session_summaries": ["device_id", "session_id"],
}
SQL = {"neural.samples_rollup": ROLLUP_SQL, "neural.unit_firing_rates": RATES_SQL,
       "neural.unit_quality": QUALITY_SQL, "neural.session_summaries": SUMMARY_SQL}


def expected(output: str, sources: dict[str, pa.Table]) -> pa.Table:
    """The rows `output` must hold for these source tables (samples, spikes, band_power,
    electrodes as pyarrow tables); timestamps as epoch microseconds."""
    connection = duckdb.connect()
    for name, table in sources.items():
        connection.register(name, table)
    return connection.sql(SQL[output]).to_arrow_table()


def _micros(value):
    if hasattr(value, "timestamp") and not isinstance(value, (int, float)):
        return round(value.timestamp() * 1_000_000)
    return value


def _close(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float) or isinstance(right, float):
        if math.isnan(left) and math.isnan(right):
            return True
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def assert_matches(output: str, actual: pa.Table, wanted: pa.Table) -> None:
    """Every row of `wanted` is in `actual` with the same values, and nothing else is."""
    keys = KEYS[output]
    columns = [name for name in wanted.column_names]

    def index(table: pa.Table) -> dict:
        rows = {}
        for row in table.select(columns).to_pylist():
            row = {name: _micros(value) if not isinstance(value, str) else value
                   for name, value in row.items()}
            key = tuple(row[name] for name in keys)
            assert key not in rows, f"{output}: key {key} appears twice"
            rows[key] = row
        return rows

    got, want = index(actual), index(wanted)
    missing = sorted(set(want) - set(got))[:3]
    extra = sorted(set(got) - set(want))[:3]
    assert not missing and not extra, (
        f"{output}: {len(set(want) - set(got))} rows missing (e.g. {missing}), "
        f"{len(set(got) - set(want))} unexpected (e.g. {extra}); {len(got)} rows vs {len(want)}")
    for key, row in want.items():
        for name in columns:
            assert _close(got[key][name], row[name]), (
                f"{output}: row {key}, column {name}: job wrote {got[key][name]!r}, "
                f"DuckDB computes {row[name]!r}")
