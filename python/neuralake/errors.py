"""Exceptions raised by neuralake: one class per kind of failure of the C++ core.

Each carries the core's message unchanged (the same text ``nlk`` prints after ``nlk:``) and
derives from the built-in exception a Python caller would catch for it, so ``except ValueError``
catches a bad filter and ``except FileNotFoundError`` a table that does not exist.
"""


class NeuralakeError(Exception):
    """Base class of every error the core reports."""


class InvalidArgumentError(NeuralakeError, ValueError):
    """Bad input: a filter, a column, a schema, SQL, a manifest declaration."""


class NotFoundError(NeuralakeError, LookupError):
    """Something named does not exist: a column, a table a SQL query was not given, a version."""


class TableNotFoundError(NotFoundError, FileNotFoundError):
    """No Delta table at the URI."""


class StorageError(NeuralakeError, OSError):
    """The object store failed (a missing file, a refused request, a full disk)."""


class CommitConflictError(NeuralakeError):
    """A concurrent writer committed first and the change could not be applied over it."""


class NotSupportedError(NeuralakeError, NotImplementedError):
    """The core does not support this (a table feature, a SQL construct)."""


class QueryCancelledError(NeuralakeError):
    """A query ran past its time budget or was cancelled."""


class ResourceLimitError(NeuralakeError, MemoryError):
    """A query exceeded its row or memory limit."""


_BY_CODE = {
    "Invalid": InvalidArgumentError,
    "Type error": InvalidArgumentError,
    "Index error": InvalidArgumentError,
    "Key error": NotFoundError,
    "IOError": StorageError,
    "NotImplemented": NotSupportedError,
    "Cancelled": QueryCancelledError,
    "Capacity error": ResourceLimitError,
    "Out of memory": ResourceLimitError,
}


def from_status(code: str, message: str, log_error: str | None = None) -> NeuralakeError:
    """The exception for a failed arrow::Status: `code` is its Status::CodeAsString, and
    `log_error` the Delta log's kind of error when it has one ("conflict" for every lost commit
    race, else e.g. "NotADeltaTable")."""
    if log_error == "conflict":
        return CommitConflictError(message)
    # delta::Table::Open reports a missing table as Invalid "not a Delta table: URI ...".
    if log_error == "NotADeltaTable" or message.startswith("not a Delta table"):
        return TableNotFoundError(message)
    return _BY_CODE.get(code, NeuralakeError)(message)
