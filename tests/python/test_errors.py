"""The core's errors reach Python as exceptions of neuralake.errors, with nlk's message."""

from __future__ import annotations

import pyarrow as pa
import pytest

import neuralake
from conftest import nlk_error


def one_line(message: str) -> str:
    """nlk prints multi-line messages on one line, joined by "; " (tools/nlk/cli_error.cc)."""
    return "; ".join(line.rstrip() for line in message.splitlines())


def test_missing_table_is_file_not_found_with_the_cli_message(tmp_path):
    missing = tmp_path / "nothing-here"
    missing.mkdir()
    with pytest.raises(neuralake.TableNotFoundError) as raised:
        neuralake.Table(missing)
    assert isinstance(raised.value, FileNotFoundError)
    assert isinstance(raised.value, neuralake.NeuralakeError)
    assert str(raised.value) == nlk_error("table", "read", str(missing))


def test_bad_filter_is_a_value_error_with_the_cli_message(cli_table):
    with pytest.raises(ValueError) as raised:
        neuralake.Table(cli_table).to_arrow(filter="no_such_column = 1")
    assert isinstance(raised.value, neuralake.InvalidArgumentError)
    assert one_line(str(raised.value)) == nlk_error(
        "table", "read", str(cli_table), "--filter", "no_such_column = 1")


def test_unknown_column_is_a_lookup_error(cli_table):
    with pytest.raises(neuralake.NotFoundError) as raised:
        neuralake.Table(cli_table).to_arrow(columns=["voltage"])
    assert isinstance(raised.value, LookupError)
    assert not isinstance(raised.value, FileNotFoundError)
    assert one_line(str(raised.value)) == nlk_error(
        "table", "read", str(cli_table), "--columns", "voltage")


def test_sql_errors_carry_the_engine_message(cli_table):
    query = "SELECT chanel FROM s"
    with pytest.raises(neuralake.InvalidArgumentError) as raised:
        neuralake.sql(query, tables={"s": cli_table})
    assert "SQL error at position 8" in str(raised.value)
    assert one_line(str(raised.value)) == nlk_error("sql", "--table", f"s={cli_table}", query)

    with pytest.raises(neuralake.NotFoundError) as raised:
        neuralake.sql("SELECT * FROM other", tables={"s": cli_table})
    assert 'table "other" does not exist' in str(raised.value)


def test_read_only_sql_is_refused(cli_table):
    with pytest.raises(neuralake.InvalidArgumentError, match="read-only"):
        neuralake.sql("DELETE FROM s", tables={"s": cli_table})


def test_append_with_a_wrong_schema_is_refused_and_commits_nothing(cli_table):
    table = neuralake.Table(cli_table)
    before = table.version
    with pytest.raises(neuralake.InvalidArgumentError):
        table.append(pa.table({"channel": pa.array(["not a number"])}))
    assert table.version == before


def test_write_table_refuses_an_existing_table_by_default(cli_table):
    with pytest.raises(neuralake.InvalidArgumentError, match="already exists"):
        neuralake.write_table(cli_table, pa.table({"x": [1]}))


def test_non_arrow_input_is_a_type_error(tmp_path):
    with pytest.raises(TypeError, match="cannot write a list"):
        neuralake.write_table(tmp_path / "t", [1, 2, 3])
