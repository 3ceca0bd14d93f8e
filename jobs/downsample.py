"""Downsampling rollups: raw voltage (neural.samples) becomes per-channel minimum, maximum, mean
and RMS over 10 ms, 1 s and 1 min windows (neural.samples_rollup), so that long-range queries
read thousands of times fewer rows.

Incremental: a run recomputes the windows from the earliest new sample on (whole minutes, which
hold whole seconds and 10 ms windows) and replaces exactly those windows. Run it with
`scripts/spark.sh submit jobs/downsample.py [--root ROOT] [--full]` (docs/spark.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyspark.sql import functions as F  # noqa: E402

from neuralake_jobs import increment, runner  # noqa: E402

JOB = "downsample"
JOB_PATH = "jobs/downsample.py"
# Window widths in microseconds, finest first; each is a whole multiple of the one before, so a
# coarser window is rolled up from the finer one's partial sums instead of from raw samples.
RESOLUTIONS = (("10ms", 10_000), ("1s", 1_000_000), ("1min", 60_000_000))
COARSEST = RESOLUTIONS[-1][1]
KEYS = ("device_id", "session_id", "channel")


def window_start(micros, width: int):
    return micros - F.pmod(micros, F.lit(width))


def rollups(context: runner.Context):
    samples = context.read("neural.samples")
    earliest = None if context.scope.full else context.scope.earliest()
    replace_where = None
    if earliest is not None:
        earliest -= earliest % COARSEST
        literal = increment.timestamp_literal(earliest)
        samples = samples.where(f"timestamp >= {literal} AND date >= to_date({literal})")
        replace_where = f"window_start >= {literal}"
    voltage = F.col("voltage_uv").cast("double")
    finest_name, finest_width = RESOLUTIONS[0]
    partial = (samples
               .groupBy(*KEYS, window_start(F.unix_micros("timestamp"), finest_width).alias("start"))
               .agg(F.count(F.lit(1)).alias("n"), F.sum(voltage).alias("total"),
                    F.sum(voltage * voltage).alias("squares"), F.min(voltage).alias("low"),
                    F.max(voltage).alias("high"))
               .persist())
    levels = [(finest_name, partial)]
    for name, width in RESOLUTIONS[1:]:
        partial = (levels[-1][1].groupBy(*KEYS, window_start(F.col("start"), width).alias("start"))
                   .agg(F.sum("n").alias("n"), F.sum("total").alias("total"),
                        F.sum("squares").alias("squares"), F.min("low").alias("low"),
                        F.max("high").alias("high")))
        levels.append((name, partial))
    rows = None
    for name, level in levels:
        start = F.timestamp_micros(F.col("start"))
        frame = level.select(
            F.lit(name).alias("resolution"), *KEYS, start.alias("window_start"),
            F.to_date(start).alias("date"), F.col("n").alias("sample_count"),
            F.col("low").alias("min_uv"), F.col("high").alias("max_uv"),
            (F.col("total") / F.col("n")).alias("mean_uv"),
            F.sqrt(F.col("squares") / F.col("n")).alias("rms_uv"))
        rows = frame if rows is None else rows.unionByName(frame)
    return rows, replace_where


OUTPUTS = [runner.Output("neural.samples_rollup", rollups)]

if __name__ == "__main__":
    sys.exit(runner.main(JOB, JOB_PATH, OUTPUTS, __doc__.split("\n\n")[0]))
