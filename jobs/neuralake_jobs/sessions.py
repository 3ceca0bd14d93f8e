"""Session-scoped recomputation: metrics that need a whole recording session (unit quality,
session summaries) are recomputed for the sessions that received rows since the last run."""

from __future__ import annotations

from .increment import sql_string, timestamp_literal


def touched_sessions(context, sources: dict) -> str:
    """A SQL predicate selecting the (device_id, session_id) pairs that have rows in the new time
    range of any changed source among `sources` (name -> DataFrame at the pinned version);
    "false" when none has."""
    pairs = set()
    for name, frame in sources.items():
        change = context.scope.changes.get(name)
        if change is None or change.time_range is None:
            continue
        low, high = (timestamp_literal(bound) for bound in change.time_range)
        rows = (frame.where(f"timestamp >= {low} AND timestamp < {high} "
                            f"AND date >= to_date({low}) AND date <= to_date({high})")
                .select("device_id", "session_id").distinct().collect())
        pairs.update((row["device_id"], row["session_id"]) for row in rows)
    if not pairs:
        return "false"
    return " OR ".join(f"(device_id = {sql_string(device)} AND session_id = {sql_string(session)})"
                       for device, session in sorted(pairs))

