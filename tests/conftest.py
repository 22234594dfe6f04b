"""Shared fixtures: simulated stations written to tmp_path, fresh benches, the virtual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from labctl import clock
from labctl.sim.bench import forget_benches

# labctl's own tests use the fixtures it ships for labs (labctl.testing: labsim_station,
# labsim, labsim_clock, labsim_faults, labsim_truth...). An installed labctl registers them
# through its pytest11 entry point; a checkout run without installing registers them here.
if not any(ep.value == "labctl.testing" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["labctl.testing"]

SMU_STATION: dict = {
    "station": "test-bench",
    "simulated": True,
    "instruments": {
        "smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"},
        "smu2420": {"driver": "keithley2420", "resource": "GPIB0::25::INSTR"},
        "ref_smu": {"driver": "keithley2450",
                    "resource": "USB0::0x05E6::0x2450::04412345::INSTR"},
    },
    "simulation": {"device": {"kind": "solar_cell", "area_cm2": 0.09, "jph_ma_cm2": 19.8,
                              "j0_ma_cm2": 1.0e-12, "ideality": 1.5, "rs_ohm_cm2": 3.0,
                              "rsh_ohm_cm2": 3000.0, "temperature_k": 298.15,
                              "ion_tau_s": 5.0, "ion_amplitude": 0.0}},
}


@pytest.fixture(autouse=True)
def _fresh_benches() -> Iterator[None]:
    """Every test starts with no bench and the real clock active, and leaves it so."""
    forget_benches()
    previous = clock.active()
    yield
    clock.use(previous)
    forget_benches()


@pytest.fixture
def write_station(tmp_path: Path) -> Callable[..., Path]:
    """Write a station YAML (SMU_STATION updated with ``changes``) and return its path.

    A top-level mapping in ``changes`` updates the one in the base; a key set to None in it
    is removed (``simulation={"device": None, "devices": {...}}``).
    """

    def write(name: str = "station.yaml", base: dict | None = None, **changes: object) -> Path:
        data = yaml.safe_load(yaml.safe_dump(base if base is not None else SMU_STATION,
                                             sort_keys=False))
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key].update(value)
                data[key] = {k: v for k, v in data[key].items() if v is not None}
            else:
                data[key] = value
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write


@pytest.fixture
def smu_station(write_station: Callable[..., Path]) -> Path:
    return write_station()


EXAMPLE_STATION = Path(__file__).resolve().parents[1] / "configs" / "stations" / "simulated.yaml"


@pytest.fixture
def example_station(tmp_path: Path) -> Callable[..., Path]:
    """Write the example simulated station, cut down, and return its path.

    ``keep``: the instruments kept (default the SMU and the shutter: no 30-minute lamp
    warm-up); ``add``: more instrument entries; ``ion_amplitude``: the cell's (default 0, no
    hysteresis, so steady and scanned currents agree).
    """

    def write(keep: tuple[str, ...] = ("smu", "shutter"), add: dict | None = None,
              ion_amplitude: float = 0.0, name: str = "station.yaml") -> Path:
        data = yaml.safe_load(EXAMPLE_STATION.read_text())
        data["instruments"] = {k: v for k, v in data["instruments"].items() if k in keep}
        data["instruments"].update(add or {})
        data["simulation"]["device"]["ion_amplitude"] = ion_amplitude
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    return write
