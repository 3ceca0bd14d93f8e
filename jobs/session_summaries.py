"""Session summaries: one row per device and recording session (neural.session_summaries) from
raw samples (neural.samples) and band power (neural.band_power): start, end and duration, sample
counts, gaps and dropouts found in the timestamps, and mean power per band. For research
dashboards, and for finding bad recordings.

  sample_interval_us     the most common step between consecutive timestamps (ties: the
                         shortest), i.e. the sampling interval
  gap_count              steps longer than 1.5 sampling intervals: the device sent nothing
  missing_timestamps     sample instants lost in those gaps (each gap's step / interval, rounded,
                         minus one)
  incomplete_timestamps  timestamps at which fewer channels reported than the session has:
                         channel dropouts

Incremental: the sessions that received samples or band power since the last run are
recomputed whole. Run it with `scripts/spark.sh submit jobs/session_summaries.py [--root ROOT]
[--full]` (docs/spark.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyspark.sql import Window  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from neuralake_jobs import runner, sessions  # noqa: E402

JOB = "session_summaries"
JOB_PATH = "jobs/session_summaries.py"
SESSION = ("device_id", "session_id")
GAP_FACTOR = 1.5
BANDS = ("delta", "theta", "alpha", "beta", "gamma")


def sample_statistics(samples):
    micros = F.unix_micros("timestamp")
    per_session = samples.groupBy(*SESSION).agg(
        F.min("timestamp").alias("start_time"), F.max("timestamp").alias("end_time"),
        F.count(F.lit(1)).alias("sample_count"),
        F.countDistinct("channel").cast("int").alias("channel_count"))
    per_timestamp = (samples.groupBy(*SESSION, "timestamp")
                     .agg(F.countDistinct("channel").alias("channels_reporting"))
                     .withColumn("step", micros - F.lag(micros).over(
                         Window.partitionBy(*SESSION).orderBy("timestamp"))))
    by_frequency = Window.partitionBy(*SESSION).orderBy(F.desc("steps"), F.asc("step"))
    interval = (per_timestamp.where(F.col("step").isNotNull())
                .groupBy(*SESSION, "step").agg(F.count(F.lit(1)).alias("steps"))
                .withColumn("rank", F.row_number().over(by_frequency))
                .where("rank = 1").select(*SESSION, F.col("step").alias("sample_interval_us")))
    timestamps = (per_timestamp.join(interval, list(SESSION), "left")
                  .join(per_session.select(*SESSION, "channel_count"), list(SESSION)))
    gap = F.col("step") > F.col("sample_interval_us") * GAP_FACTOR
    per_timestamp_totals = timestamps.groupBy(*SESSION).agg(
        F.count(F.lit(1)).alias("timestamp_count"),
        F.first("sample_interval_us", ignorenulls=True).alias("sample_interval_us"),
        F.sum(F.when(gap, 1).otherwise(0)).alias("gap_count"),
        F.sum(F.when(gap, F.round(F.col("step") / F.col("sample_interval_us")) - 1)
              .otherwise(0)).cast("long").alias("missing_timestamps"),
        F.sum(F.when(F.col("channels_reporting") < F.col("channel_count"), 1).otherwise(0))
        .alias("incomplete_timestamps"))
    return (per_session.join(per_timestamp_totals, list(SESSION))
            .withColumn("duration_s", (F.unix_micros("end_time") - F.unix_micros("start_time"))
                        / F.lit(1e6)))


def band_statistics(band_power):
    means = [F.avg(F.when(F.col("band") == band, F.col("power_uv2"))).alias(f"mean_{band}_uv2")
             for band in BANDS]
    return band_power.groupBy(*SESSION).agg(
        F.countDistinct("timestamp").alias("band_power_windows"), *means)


def summaries(context: runner.Context):
    samples = context.read("neural.samples")
    band_power = context.read("neural.band_power")
    replace_where = None
    if not context.scope.full:
        replace_where = sessions.touched_sessions(
            context, {"neural.samples": samples, "neural.band_power": band_power})
        samples = samples.where(replace_where)
        band_power = band_power.where(replace_where)
    rows = (sample_statistics(samples)
            .join(band_statistics(band_power), list(SESSION), "left")
            .withColumn("band_power_windows", F.coalesce("band_power_windows", F.lit(0))))
    return rows, replace_where


OUTPUTS = [runner.Output("neural.session_summaries", summaries)]

if __name__ == "__main__":
    sys.exit(runner.main(JOB, JOB_PATH, OUTPUTS, __doc__.split("\n\n")[0]))
