"""The subscribers of the runner's event stream that keep a run on disk: the CSV files, the
summary, the figures and the catalog (docs/architecture.md, "The event stream").

Each one is a callable taking a :class:`~labctl.events.Document`; the runner subscribes them
in this order: :class:`CsvSubscriber` (critical), progress, :class:`FigureSubscriber`,
:class:`CatalogSubscriber`, :class:`SummarySubscriber` (last, so the warnings of the others
are in the summary it writes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labctl.events import Document
from labctl.registry.procedures import StepResult, procedure_plugin

log = logging.getLogger(__name__)

__all__ = ["CatalogSubscriber", "CsvSubscriber", "FigureSubscriber", "SummarySubscriber"]


class CsvSubscriber:
    """Writes each measurement to its pymeasure-format CSV, one flushed row at a time.

    ``measurement_start`` opens the file (the header holds the procedure's parameters and
    metadata, written once; with ``resume`` the partial file of an interrupted run is
    continued, its torn last row removed); each ``row`` is appended whole (one write, its
    newline included); ``measurement_end`` closes it, after the end marker ``#End:
    complete`` when the measurement ended ``ok``. Parallel channels have a file each, open
    at the same time (by file name)."""

    name = "CSV writer"

    def __init__(self) -> None:
        self._writers: dict[str, Any] = {}

    def __call__(self, document: Document) -> None:
        from labctl.storage import CsvWriter

        if document.kind not in ("measurement_start", "row", "measurement_end"):
            return
        key = document["measurement"].filename
        if document.kind == "measurement_start":
            procedure = document["procedure"]
            self._writers[key] = CsvWriter(
                document["path"], procedure, list(document["columns"]),
                metadata=document["metadata"], resume=bool(document.get("resume")))
        elif document.kind == "row":
            writer = self._writers.get(key)
            if writer is None:
                raise RuntimeError("a row came before its measurement's start")
            writer.append(document["row"])
        elif key in self._writers:
            writer = self._writers.pop(key)
            if document.get("status") == "ok":
                writer.finish()  # the end marker: --resume does not measure it again
            else:
                writer.close()


class SummarySubscriber:
    """Rewrites ``summary.json`` (atomically) whenever the run's state changes."""

    name = "summary"

    def __init__(self, write: Callable[[], None]) -> None:
        self._write = write

    def __call__(self, document: Document) -> None:
        if document.kind in ("run_start", "result", "run_end"):
            self._write()


class FigureSubscriber:
    """Draws one figure per step once its measurements are recorded (the plug-in's
    ``figure``): ``s00_jv.png`` for a two-direction J-V, ``s01_jv_steady.png``..."""

    name = "figure"

    def __init__(self, folder: Path, sample_id: str) -> None:
        self.folder = folder
        self.sample_id = sample_id

    def __call__(self, document: Document) -> None:
        if document.kind != "result":
            return
        step_results: list[StepResult] = [r for r in document["step_results"]
                                          if r.record.get("status") == "ok"]
        if not step_results:
            return
        first = step_results[0].record
        plugin = procedure_plugin(first["procedure"])
        if plugin.figure is None:
            return
        stem = Path(first["file"]).stem
        name = stem.rsplit("_", 1)[0] if first.get("direction") else stem
        plugin.figure(step_results, (self.folder / name).with_suffix(".png"),
                      f"{self.sample_id} step {first['step']} ({first['procedure']})")


class CatalogSubscriber:
    """Keeps the catalog's rows of the run equal to the summary's results: one row per
    measurement, an aborted one replaced when it is measured again (at the run's start, on
    each result and at its end, so a catalog that could not be written -- a full disk --
    is made right by the next resume)."""

    name = "catalog row"

    def __init__(self, catalog_path: Path, run: Mapping[str, Any],
                 results: Callable[[], list[dict[str, Any]]]) -> None:
        self.catalog_path = catalog_path
        self.run = run
        self._results = results

    def __call__(self, document: Document) -> None:
        from labctl.storage import Catalog

        if document.kind not in ("run_start", "result", "run_end"):
            return
        Catalog(self.catalog_path).replace_run(
            run_id=self.run["run_id"], sample_id=self.run["sample_id"],
            folder=self.run["folder"], records=self._results(), started=self.run["started"])
