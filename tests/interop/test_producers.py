"""The fixture tables themselves: each third-party table has the feature it claims, and the two
reference readers (Spark, delta-rs's DataFusion path) agree on its rows, so the expected rows the
nlk read tests compare against are not one tool's private opinion."""

import pytest

from compare import assert_same_rows
from producers import PRODUCERS, read_deltars, read_spark

# Where delta-rs 1.6.6 is known to read a table wrong: name -> (SQL filter that avoids it, reason).
KNOWN_DELTARS_DEVIATIONS = {
    "spark_ts_ntz": ("id <> 4", "delta-rs reads Spark's INT96 timestamp 9999-12-31 23:59:59.999999 as "
                                "1816-03-30 (INT96 is decoded through nanoseconds and overflows)"),
}


@pytest.mark.spark
@pytest.mark.parametrize("name", list(PRODUCERS))
def test_reference_readers_agree(name, tables, spark):
    t = tables.get(name)
    where, _ = KNOWN_DELTARS_DEVIATIONS.get(name, ("true", None))
    deltars = read_deltars(t.path, sql=f"select * from t where {where}")
    sp = spark.read.format("delta").load(str(t.path)).where(where).toArrow()
    assert_same_rows(deltars, sp, what=f"{name}: delta-rs QueryBuilder vs Spark")
    for version, rows in t.versions.items():
        other = read_spark(spark, t.path, version=version) if t.reference != "spark" else \
            read_deltars(t.path, version=version)
        assert_same_rows(other, rows, what=f"{name}@v{version}: Spark vs delta-rs")
    for instant, version in t.timestamps.items():
        assert_same_rows(read_spark(spark, t.path, timestamp=instant), t.expected_at(version),
                         what=f"{name}@{instant}: Spark timestampAsOf vs delta-rs v{version}")


@pytest.mark.spark
@pytest.mark.parametrize("name", list(KNOWN_DELTARS_DEVIATIONS))
def test_known_deltars_deviation_still_there(name, tables, spark):
    """If delta-rs is upgraded and fixed, this fails: then drop the entry above."""
    t = tables.get(name)
    with pytest.raises(AssertionError):
        assert_same_rows(read_deltars(t.path), read_spark(spark, t.path))


def test_deltars_timestamp_travel_resolves(tables):
    """The instant between v2 and v3 of deltars_history is v2 for delta-rs itself."""
    from deltalake import DeltaTable
    t = tables.get("deltars_history")
    for instant, version in t.timestamps.items():
        dt_ = DeltaTable(str(t.path))
        dt_.load_as_version(instant)
        assert dt_.version() == version
