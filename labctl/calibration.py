"""Stored calibrations of a station's attenuator: dated YAML files, one per calibration.

A ``calibrate`` step (:mod:`procedures.calibration`) measures, in place against the irradiance
sensor at 1 sun, the optical density of every slot of every filter wheel and of every slot
combination bright enough to measure; combinations too dark for the sensor at 1 sun are the
sum of their slots' measured ODs and marked ``derived``. The result is written to
``STATION-STEM.calibration.YYYYmmddTHHMMSSZ.yaml`` in the station's ``calibration_dir``
(relative to the station file) or beside the station file. The newest file that fits the
station's wheels (same names and slot counts) is the calibration in use: ``intensity_voc``
applies it to the attenuator, names it in its CSV header, and ``labctl validate`` warns when
it is older than the station's ``calibration_max_age_days``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "FORMAT",
    "AttenuatorCalibration",
    "CombinationOD",
    "apply_calibration",
    "calibration_age_warning",
    "calibration_folder",
    "calibration_in_use",
    "load_calibration",
    "save_calibration",
]

FORMAT = "labctl attenuator calibration"
_STAMP = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class CombinationOD:
    """The total OD of one slot combination (1-based positions, station order)."""

    positions: tuple[int, ...]
    od: float
    derived: bool


@dataclass
class AttenuatorCalibration:
    """One calibration: when, of which station's wheels, each slot's measured OD (by wheel
    name, slot 1 first), the combinations, and what the reference was."""

    station: str
    date_utc: datetime
    od_per_slot: dict[str, list[float]]
    nominal_od_per_slot: dict[str, list[float]]
    combinations: list[CombinationOD] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def label(self) -> str:
        """``"NAME (2026-12-01T10:00:00Z)"``: how CSV headers name it."""
        name = self.path.name if self.path is not None else "unsaved"
        return f"{name} ({self.date_utc.strftime('%Y-%m-%dT%H:%M:%SZ')})"

    def age_days(self, now: datetime | None = None) -> float:
        now = now or datetime.now(UTC)
        return (now - self.date_utc).total_seconds() / 86400.0

    def measured_combinations(self) -> dict[tuple[int, ...], float]:
        """The ODs of the combinations measured (not derived), by positions."""
        return {c.positions: c.od for c in self.combinations if not c.derived}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "station": self.station,
            "date_utc": self.date_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "reference": dict(self.reference),
            "wheels": {name: {"nominal_od": list(self.nominal_od_per_slot.get(name, [])),
                              "od": [round(float(v), 6) for v in ods]}
                       for name, ods in self.od_per_slot.items()},
            "combinations": [{"positions": list(c.positions), "od": round(float(c.od), 6),
                              "derived": bool(c.derived)} for c in self.combinations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path | None = None
                  ) -> AttenuatorCalibration:
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} file")
        date = datetime.strptime(str(data["date_utc"]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        wheels = data.get("wheels") or {}
        return cls(
            station=str(data.get("station", "")), date_utc=date,
            od_per_slot={str(k): [float(x) for x in v["od"]] for k, v in wheels.items()},
            nominal_od_per_slot={str(k): [float(x) for x in v.get("nominal_od", [])]
                                 for k, v in wheels.items()},
            combinations=[CombinationOD(tuple(int(p) for p in c["positions"]), float(c["od"]),
                                        bool(c.get("derived", False)))
                          for c in data.get("combinations") or []],
            reference=dict(data.get("reference") or {}), path=path)


def calibration_folder(station: Any) -> Path | None:
    """Where the station's calibrations are stored (None: a station without a file and
    without an absolute ``calibration_dir``)."""
    folder = getattr(station, "calibration_dir", None)
    station_path = getattr(station, "_path", None)
    if folder:
        path = Path(folder).expanduser()
        if path.is_absolute():
            return path
        return None if station_path is None else station_path.parent / path
    return None if station_path is None else station_path.parent


def _prefix(station: Any) -> str:
    station_path = getattr(station, "_path", None)
    stem = station_path.stem if station_path is not None else str(station.station)
    return f"{stem}.calibration."


def save_calibration(station: Any, calibration: AttenuatorCalibration) -> Path:
    """Write ``calibration`` into the station's folder; returns the file (also set as its
    ``path``). :raises OSError: no folder (a station held only in memory) or not writable."""
    folder = calibration_folder(station)
    if folder is None:
        raise OSError("the station has no file and no absolute calibration_dir: nowhere to "
                      "store the calibration")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_prefix(station)}{calibration.date_utc.strftime(_STAMP)}.yaml"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(yaml.safe_dump(calibration.to_dict(), sort_keys=False),
                         encoding="utf-8")
    temporary.replace(path)
    calibration.path = path
    return path


def load_calibration(path: Path) -> AttenuatorCalibration:
    """Read one calibration file (ValueError naming the file when it is not one)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return AttenuatorCalibration.from_dict(data, Path(path))
    except (KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not a readable attenuator calibration: {exc}") from None


def _fits(station: Any, calibration: AttenuatorCalibration) -> bool:
    wheels = station.attenuator()
    if list(calibration.od_per_slot) != wheels:
        return False
    return all(len(calibration.od_per_slot[w]) == len(station.instruments[w].od)
               for w in wheels)


def calibration_in_use(station: Any) -> AttenuatorCalibration | None:
    """The newest stored calibration that fits the station's wheels, or None."""
    folder = calibration_folder(station)
    if folder is None or not folder.is_dir() or not station.attenuator():
        return None
    for path in sorted(folder.glob(f"{_prefix(station)}*.yaml"), reverse=True):
        try:
            calibration = load_calibration(path)
        except ValueError:
            continue
        if _fits(station, calibration):
            return calibration
    return None


def calibration_age_warning(station: Any, now: datetime | None = None) -> str | None:
    """A warning when the calibration in use is older than ``calibration_max_age_days``."""
    limit_days = getattr(station, "calibration_max_age_days", None)
    calibration = calibration_in_use(station)
    if calibration is None or limit_days is None:
        return None
    age_days = calibration.age_days(now)
    if age_days <= float(limit_days):
        return None
    return (f"the attenuator calibration {calibration.label()} is {age_days:.0f} days old, "
            f"older than the station's calibration_max_age_days ({float(limit_days):g}); "
            "run a calibrate step")


def apply_calibration(attenuator: Any, calibration: AttenuatorCalibration,
                      wheels: Sequence[str]) -> None:
    """Make ``attenuator`` (wheels named ``wheels``, station order) use ``calibration``."""
    attenuator.apply_calibration([calibration.od_per_slot[w] for w in wheels],
                                 calibration.measured_combinations(), calibration.label())


def od_from_transmission(transmission: float) -> float:
    """OD = −log10(T); inf for T ≤ 0."""
    return -math.log10(transmission) if transmission > 0 else math.inf
