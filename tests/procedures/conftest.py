"""Drive a procedure the way labctl's runner does, on the simulated bench.

``run_procedure(cls, station_path, should_stop=None, time_offset_s=0.0, prepare=None,
**parameters)`` opens the station with :func:`labctl.opened_station.open_station` (simulated), sets
``roles``, ``emit``, ``should_stop`` and ``time_offset_s``, then runs ``startup()``,
``execute()`` and, in a ``finally``, ``shutdown()`` -- pymeasure's Worker order. Emitted rows
are checked against the procedure's ``DATA_COLUMNS`` (labctl's writer refuses unknown keys).
The station is closed afterwards *without* making it safe, so the test sees what the
procedure left behind in the emulators (``run.bench.instruments[...]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from labctl.opened_station import open_station


@dataclass
class Run:
    """What a procedure run produced."""

    procedure: Any
    bench: Any
    roles: Any
    rows: list[dict[str, float]] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)
    error: BaseException | None = None
    shutdown_error: BaseException | None = None

    def column(self, name: str, settled_only: bool = False) -> list[float]:
        rows = [r for r in self.rows if not settled_only or r.get("Settled") == 1]
        return [r[name] for r in rows]


def _run(procedure_class: type, station_path: Path, *, should_stop: Callable[[], bool] | None
         = None, time_offset_s: float = 0.0, prepare: Callable[[Any, Any], None] | None = None,
         **parameters: Any) -> Run:
    station = open_station(station_path, simulated=True)
    try:
        roles = station.roles(parameters.get("smu_name"))
        procedure = procedure_class()
        procedure.set_parameters(parameters)
        run = Run(procedure=procedure, bench=station.bench, roles=roles)

        def emit(topic: str, record: Any) -> None:
            if topic == "results":
                unknown = set(record) - set(procedure.DATA_COLUMNS)
                assert not unknown, f"unknown columns {unknown}"
                run.rows.append(dict(record))
            elif topic == "progress":
                run.progress.append(float(record))
            else:
                raise AssertionError(f"unexpected topic {topic!r}")

        procedure.roles = roles
        procedure.emit = emit
        procedure.should_stop = should_stop or (lambda: False)
        procedure.time_offset_s = time_offset_s
        if prepare is not None:
            prepare(procedure, roles)
        try:
            procedure.startup()
            procedure.execute()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            run.error = error
        finally:
            try:
                procedure.shutdown()
            except Exception as error:  # noqa: BLE001 - shutdown must not raise: tests assert
                run.shutdown_error = error
        return run
    finally:
        station.close()


@pytest.fixture
def run_procedure() -> Callable[..., Run]:
    """The runner's way of driving a procedure (see the module docstring)."""
    return _run
