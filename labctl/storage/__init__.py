"""Result storage: run folders, the pymeasure CSV format, summary JSON and the SQLite catalog.

Everything a run produces is written here, and written so that it survives the run being cut
short (docs/contracts.md, "Results"; docs/architecture.md, "Long runs"):

- :func:`run_folder` and :func:`measurement_filename` name a run's folder and its files
  (Windows-safe: no colons or other reserved characters).
- :class:`CsvWriter` appends rows to a CSV in exactly the layout pymeasure's
  :class:`~pymeasure.experiment.Results` writes (``#Procedure:``, ``#Parameters:``,
  ``#Metadata:``, ``#Data:``, the column row, comma-separated rows), so
  ``Results.load(path, ProcedureClass)`` and the pymeasure GUI read it. Unlike ``Results`` it
  never re-reads or rewrites the file: the header is written once, each row is appended and
  flushed, the file is fsync'ed every few seconds, and memory does not grow with the number of
  rows. An interrupted run is continued with ``resume=True``.
- :func:`read_measurement` reads those files, and plain CSV files with a header row.
- :func:`write_summary` writes ``summary.json`` atomically, NaN and infinities as ``null``.
- :class:`Catalog` keeps one row per measurement in ``catalog.sqlite``.
- :class:`RunLock` locks a run folder for the live process that writes it; :func:`run_status`
  tells ``running`` from ``interrupted`` from disk alone.

No Qt and no instrument imports: this module is used headless and by the analysis CLI.
"""


from labctl.storage.catalog import Catalog
from labctl.storage.columns import (
    CANONICAL_COLUMNS,
    CATALOG_FILENAME,
    J_COLUMN,
    SCHEMA_VERSION,
    SUMMARY_FILENAME,
    VOLTAGE_COLUMNS,
)
from labctl.storage.csv_reader import (
    Measurement,
    is_complete,
    jv_curve,
    mean_irradiance_mw_cm2,
    read_binned,
    read_last_row,
    read_measurement,
)
from labctl.storage.csv_writer import END_MARKER, CsvWriter, truncate_torn_row
from labctl.storage.lock import (
    LOCK_FILENAME,
    RUN_STATUSES,
    FolderLocked,
    RunLock,
    locked_by,
    run_status,
)
from labctl.storage.paths import measurement_filename, run_folder, safe_name
from labctl.storage.summary import to_json_compatible, write_summary

__all__ = [
    "CANONICAL_COLUMNS",
    "CATALOG_FILENAME",
    "SCHEMA_VERSION",
    "SUMMARY_FILENAME",
    "VOLTAGE_COLUMNS",
    "Catalog",
    "FolderLocked",
    "LOCK_FILENAME",
    "RUN_STATUSES",
    "RunLock",
    "CsvWriter",
    "END_MARKER",
    "J_COLUMN",
    "Measurement",
    "is_complete",
    "jv_curve",
    "locked_by",
    "mean_irradiance_mw_cm2",
    "measurement_filename",
    "read_binned",
    "read_last_row",
    "read_measurement",
    "run_folder",
    "run_status",
    "safe_name",
    "to_json_compatible",
    "truncate_torn_row",
    "write_summary",
]
