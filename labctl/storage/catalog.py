"""The SQLite catalog: one row per measurement (``labctl catalog``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labctl.storage.columns import SCHEMA_VERSION
from labctl.storage.summary import to_json_compatible

# --------------------------------------------------------------------------------------------
# Catalog
# --------------------------------------------------------------------------------------------

_CATALOG_COLUMNS = (
    "id",
    "run_id",
    "sample_id",
    "pixel",
    "channel",
    "procedure",
    "step",
    "direction",
    "started",
    "file",
    "status",
    "metrics",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id    TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    pixel     INTEGER,
    channel   TEXT,
    procedure TEXT NOT NULL,
    step      INTEGER NOT NULL,
    direction TEXT,
    started   TEXT NOT NULL,
    file      TEXT NOT NULL,
    status    TEXT NOT NULL,
    metrics   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS measurements_sample ON measurements (sample_id);
CREATE INDEX IF NOT EXISTS measurements_procedure ON measurements (procedure);
CREATE INDEX IF NOT EXISTS measurements_started ON measurements (started);
"""


def _utc_iso(started: datetime | str) -> str:
    """ISO 8601 in UTC with milliseconds (``2026-01-02T03:04:05.000+00:00``).

    A naive datetime is taken as local time; a string must be ISO 8601.
    """
    if isinstance(started, str):
        started = datetime.fromisoformat(started)
    if not isinstance(started, datetime):
        raise TypeError(f"started must be a datetime or ISO 8601 text, got {started!r}")
    return started.astimezone(UTC).isoformat(timespec="milliseconds")


class Catalog:
    """The SQLite catalog of measurements (``catalog.sqlite`` in the ``--out`` folder).

    One row per measurement: run, sample, pixel, channel, procedure, step, direction, start
    time (ISO 8601 UTC), file (relative to the catalog's folder where possible), status and
    metrics (JSON text, NaN as null). Each call opens its own connection and each
    :meth:`add` commits, so the catalog is consistent after any crash; one writer at a time
    (SQLite's lock makes a second writer wait up to ``timeout_s``). The schema is created if
    missing; its version is ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`).
    """

    def __init__(self, path: Path, timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout_s = float(timeout_s)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as connection, connection:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ValueError(
                    f"{self.path} has catalog schema version {version}; this labctl "
                    f"reads up to {SCHEMA_VERSION}"
                )
            connection.executescript(_SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def folder(self) -> Path:
        """The folder relative file paths are resolved against."""
        return self.path.parent

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=self.timeout_s)
        connection.row_factory = sqlite3.Row
        return connection

    def _relative(self, file: Path | str) -> str:
        """``file`` relative to the catalog folder when it lies inside it, else absolute."""
        file_path = Path(file)
        if not file_path.is_absolute():
            file_path = Path.cwd() / file_path
        resolved = file_path.resolve()
        try:
            return resolved.relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(resolved)

    def resolve(self, file: str) -> Path:
        """Return the absolute path of a ``file`` value stored in the catalog."""
        path = Path(file)
        return path if path.is_absolute() else self.folder / path

    def add(
        self,
        *,
        run_id: str,
        sample_id: str,
        procedure: str,
        step: int,
        file: Path | str,
        started: datetime | str,
        status: str = "finished",
        metrics: Mapping[str, Any] | None = None,
        pixel: int | None = None,
        channel: str | None = None,
        direction: str | None = None,
    ) -> int:
        """Add one measurement and commit; return its row id.

        ``file`` relative to the current directory is resolved first; ``started`` is stored
        as ISO 8601 UTC (a naive datetime is local time).
        """
        metrics_json = json.dumps(to_json_compatible(dict(metrics or {})), allow_nan=False)
        values = (
            str(run_id),
            str(sample_id),
            None if pixel is None else int(pixel),
            None if channel is None else str(channel),
            str(procedure),
            int(step),
            None if direction is None else str(direction),
            _utc_iso(started),
            self._relative(file),
            str(status),
            metrics_json,
        )
        with closing(self._connect()) as connection, connection:
            cursor = connection.execute(
                "INSERT INTO measurements (run_id, sample_id, pixel, channel, procedure, step,"
                " direction, started, file, status, metrics)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                values,
            )
            row_id = cursor.lastrowid
        assert row_id is not None
        return row_id

    def replace_run(self, *, run_id: str, sample_id: str, folder: Path,
                    records: list[Mapping[str, Any]], started: datetime | str) -> None:
        """Make the catalog's rows of one run exactly ``records`` (the summary's results), in
        one transaction: rows of measurements that were aborted and measured again, or of a
        summary written after them, do not survive. Each record is a summary result
        (``step``, ``procedure``, ``direction``, ``channel``, ``file`` relative to ``folder``,
        ``status``, ``metrics``, ``started``; the run's ``started`` when it has none)."""
        values = []
        for record in records:
            metrics = to_json_compatible(dict(record.get("metrics") or {}))
            channel, direction = record.get("channel"), record.get("direction")
            values.append((
                str(run_id), str(sample_id), None,
                None if channel is None else str(channel), str(record["procedure"]),
                int(record["step"]), None if direction is None else str(direction),
                _utc_iso(record.get("started") or started),
                self._relative(Path(folder) / str(record["file"])), str(record["status"]),
                json.dumps(metrics, allow_nan=False)))
        with closing(self._connect()) as connection, connection:
            connection.execute("DELETE FROM measurements WHERE run_id = ?", (str(run_id),))
            connection.executemany(
                "INSERT INTO measurements (run_id, sample_id, pixel, channel, procedure, step,"
                " direction, started, file, status, metrics)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)

    def query(
        self,
        sample: str | None = None,
        procedure: str | None = None,
        run_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Return the measurements matching every filter given, oldest first.

        Each is a dict with the catalog columns (``id``, ``run_id``, ``sample_id``, ``pixel``,
        ``channel``, ``procedure``, ``step``, ``direction``, ``started``, ``file``, ``status``)
        and ``metrics`` decoded from JSON.
        """
        clauses, arguments = [], []
        for column, value in (("sample_id", sample), ("procedure", procedure), ("run_id", run_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                arguments.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(_CATALOG_COLUMNS)} FROM measurements{where} ORDER BY started, id"
        with closing(self._connect()) as connection:
            rows = connection.execute(sql, arguments).fetchall()
        result = []
        for row in rows:
            entry = dict(row)
            entry["metrics"] = json.loads(entry["metrics"])
            result.append(entry)
        return result

    def __repr__(self) -> str:
        return f"<Catalog {self.path}>"
