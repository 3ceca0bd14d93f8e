"""Reads a local table's _delta_log directly (JSON commits, checkpoint names) to check which
protocol features a third-party writer really produced, so a test cannot silently lose the feature
it claims to cover (e.g. a DELETE that rewrote files instead of writing deletion vectors)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

_COMMIT = re.compile(r"^(\d{20})\.json$")
_CLASSIC_CP = re.compile(r"^(\d{20})\.checkpoint\.parquet$")
_MULTIPART_CP = re.compile(r"^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$")
_V2_CP = re.compile(r"^(\d{20})\.checkpoint\.[0-9a-fA-F-]{36}\.(json|parquet)$")
_CRC = re.compile(r"^(\d{20})\.crc$")


@dataclass
class LogSummary:
    path: Path
    versions: list[int] = field(default_factory=list)
    checkpoints: dict[int, str] = field(default_factory=dict)  # version -> kind
    crc_versions: list[int] = field(default_factory=list)
    sidecars: int = 0
    last_checkpoint: dict | None = None
    protocol: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    # From the JSON commits only (a checkpoint may hold more): adds carrying a deletionVector.
    dv_adds: int = 0
    adds: int = 0
    removes: int = 0
    operations: list[str] = field(default_factory=list)

    @property
    def latest(self) -> int:
        return max(self.versions)

    @property
    def configuration(self) -> dict:
        return self.metadata.get("configuration") or {}

    @property
    def column_mapping(self) -> str:
        return self.configuration.get("delta.columnMapping.mode", "none")

    @property
    def partition_columns(self) -> list[str]:
        return self.metadata.get("partitionColumns") or []

    @property
    def schema_fields(self) -> list[dict]:
        return json.loads(self.metadata["schemaString"])["fields"] if self.metadata else []

    def features(self) -> list[str]:
        out = []
        if self.checkpoints:
            out.append("checkpoint:" + ",".join(f"{v}={k}" for v, k in sorted(self.checkpoints.items())))
        if self.sidecars:
            out.append(f"sidecars={self.sidecars}")
        if self.crc_versions:
            out.append(f"crc={len(self.crc_versions)}")
        if self.dv_adds:
            out.append(f"deletionVectors={self.dv_adds}")
        if self.column_mapping != "none":
            out.append(f"columnMapping={self.column_mapping}")
        if self.partition_columns:
            out.append("partitionBy=" + ",".join(self.partition_columns))
        return out

    def describe(self) -> str:
        p = self.protocol
        proto = f"r{p.get('minReaderVersion')}/w{p.get('minWriterVersion')}"
        if p.get("readerFeatures"):
            proto += " reader[" + ",".join(p["readerFeatures"]) + "]"
        types = ", ".join(f"{f['name']}:{f['type'] if isinstance(f['type'], str) else f['type'].get('type')}"
                          for f in self.schema_fields)
        return (f"versions 0..{self.latest} ({len(self.versions)} commits), {proto}; "
                f"{'; '.join(self.features()) or 'no special features'}; "
                f"adds={self.adds} removes={self.removes}; "
                f"ops={','.join(self.operations)}; schema({types})")


def read_log(table_path: str | Path) -> LogSummary:
    table_path = Path(table_path)
    log = table_path / "_delta_log"
    s = LogSummary(table_path)
    if not log.is_dir():
        raise FileNotFoundError(f"{log} is not a directory")
    for f in sorted(log.iterdir()):
        name = f.name
        if m := _COMMIT.match(name):
            s.versions.append(int(m.group(1)))
        elif m := _CLASSIC_CP.match(name):
            s.checkpoints[int(m.group(1))] = "classic"
        elif m := _MULTIPART_CP.match(name):
            s.checkpoints[int(m.group(1))] = f"multipart({int(m.group(3))})"
        elif m := _V2_CP.match(name):
            s.checkpoints[int(m.group(1))] = f"v2-{m.group(2)}"
        elif m := _CRC.match(name):
            s.crc_versions.append(int(m.group(1)))
        elif name == "_last_checkpoint":
            s.last_checkpoint = json.loads(f.read_text())
    if (log / "_sidecars").is_dir():
        s.sidecars = sum(1 for f in (log / "_sidecars").iterdir() if f.name.endswith(".parquet"))
    for v in sorted(s.versions):
        for line in (log / f"{v:020d}.json").read_text().splitlines():
            if not line.strip():
                continue
            action = json.loads(line)
            if "protocol" in action:
                s.protocol = action["protocol"]
            if "metaData" in action:
                s.metadata = action["metaData"]
            if "add" in action:
                s.adds += 1
                if action["add"].get("deletionVector"):
                    s.dv_adds += 1
            if "remove" in action:
                s.removes += 1
            if "commitInfo" in action:
                s.operations.append(str(action["commitInfo"].get("operation", "?")))
    if not s.metadata and s.checkpoints:
        # Log cleaned up before the checkpoint: take protocol/metadata from a classic checkpoint.
        v = max(s.checkpoints)
        cp = log / f"{v:020d}.checkpoint.parquet"
        if cp.exists():
            t = pq.read_table(cp, columns=["protocol", "metaData"]).to_pylist()
            for row in t:
                if row.get("protocol"):
                    s.protocol = row["protocol"]
                if row.get("metaData"):
                    s.metadata = row["metaData"]
    return s


def commit_actions(table_path: str | Path, version: int) -> list[dict]:
    path = Path(table_path) / "_delta_log" / f"{version:020d}.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
