"""Firing rates and unit quality from spike events (neural.spikes) joined with the electrode map
(neural.electrodes):

  neural.unit_firing_rates  spikes per sorted unit per 1 s bin, with the unit's shank and region
  neural.unit_quality       per unit and session: spike count, mean rate, inter-spike-interval
                            violations (under 1.5 ms) and amplitude stability

Incremental: rates are recomputed from the earliest new spike's second on; quality, which needs
a unit's whole session, for the sessions that received spikes. The electrode map is reference
data without versions: after it changes, run with --full. Run it with
`scripts/spark.sh submit jobs/firing_rates.py [--root ROOT] [--full]` (docs/spark.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyspark.sql import Window  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from neuralake_jobs import increment, runner, sessions  # noqa: E402

JOB = "firing_rates"
JOB_PATH = "jobs/firing_rates.py"
BIN_MICROS = 1_000_000
# Two spikes of one unit closer than this break the refractory period: the unit is likely a mix
# of neurons, or noise.
REFRACTORY_MICROS = 1_500
UNIT = ("device_id", "session_id", "channel", "unit")


def electrodes(context: runner.Context):
    return F.broadcast(context.read("neural.electrodes").select(
        "device_id", "channel", "shank", "depth_um", "region"))


def firing_rates(context: runner.Context):
    spikes = context.read("neural.spikes")
    earliest = None if context.scope.full else context.scope.earliest()
    replace_where = None
    if earliest is not None:
        earliest -= earliest % BIN_MICROS
        literal = increment.timestamp_literal(earliest)
        spikes = spikes.where(f"timestamp >= {literal} AND date >= to_date({literal})")
        replace_where = f"bin_start >= {literal}"
    micros = F.unix_micros("timestamp")
    bin_start = F.timestamp_micros(micros - F.pmod(micros, F.lit(BIN_MICROS)))
    counts = spikes.groupBy(*UNIT, bin_start.alias("bin_start")).agg(
        F.count(F.lit(1)).alias("spike_count"))
    rows = (counts.join(electrodes(context), ["device_id", "channel"], "left")
            .withColumn("date", F.to_date("bin_start"))
            .withColumn("rate_hz", F.col("spike_count") / F.lit(BIN_MICROS / 1e6)))
    return rows, replace_where


def unit_quality(context: runner.Context):
    spikes = context.read("neural.spikes")
    replace_where = None
    if not context.scope.full:
        touched = sessions.touched_sessions(context, {"neural.spikes": spikes})
        spikes = spikes.where(touched)
        replace_where = touched
    micros = F.unix_micros("timestamp")
    in_time = Window.partitionBy(*UNIT).orderBy("timestamp")
    ordered = (spikes
               .withColumn("interval", micros - F.lag(micros).over(in_time))
               .withColumn("position", F.row_number().over(in_time))
               .withColumn("count", F.count(F.lit(1)).over(Window.partitionBy(*UNIT))))
    amplitude = F.col("amplitude_uv").cast("double")
    first_half = F.col("position") <= F.floor(F.col("count") / 2)
    per_unit = ordered.groupBy(*UNIT).agg(
        F.count(F.lit(1)).alias("spike_count"),
        F.min("timestamp").alias("first_spike"), F.max("timestamp").alias("last_spike"),
        F.sum(F.when(F.col("interval") < REFRACTORY_MICROS, 1).otherwise(0)).alias(
            "isi_violations"),
        F.avg(amplitude).alias("amplitude_mean_uv"),
        F.stddev_samp(amplitude).alias("amplitude_std"),
        F.avg(F.when(first_half, amplitude)).alias("first_half_mean"),
        F.avg(F.when(~first_half, amplitude)).alias("second_half_mean"))
    span_seconds = (F.unix_micros("last_spike") - F.unix_micros("first_spike")) / F.lit(1e6)
    several = F.col("spike_count") > 1
    mean = F.col("amplitude_mean_uv")
    rows = (per_unit
            .withColumn("mean_rate_hz",
                        F.when(several & (span_seconds > 0), (F.col("spike_count") - 1) / span_seconds))
            .withColumn("isi_violation_ratio",
                        F.when(several, F.col("isi_violations") / (F.col("spike_count") - 1)))
            .withColumn("amplitude_cv", F.when(mean != 0, F.col("amplitude_std") / F.abs(mean)))
            .withColumn("amplitude_drift",
                        F.when(several & (mean != 0),
                               (F.col("second_half_mean") - F.col("first_half_mean")) / F.abs(mean)))
            .join(electrodes(context), ["device_id", "channel"], "left"))
    return rows, replace_where


OUTPUTS = [runner.Output("neural.unit_firing_rates", firing_rates),
           runner.Output("neural.unit_quality", unit_quality)]

if __name__ == "__main__":
    sys.exit(runner.main(JOB, JOB_PATH, OUTPUTS, __doc__.split("\n\n")[0]))
