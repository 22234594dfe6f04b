"""Stacked filter wheels as one attenuator described by the optical density of each slot.

Two (or more) wheels in the beam multiply their transmissions, so the total optical density is
the sum of the ODs of the slots in the beam (docs/instruments.md §3). The per-slot ODs
come from the station file and should be calibrated in situ: absorptive ND glass is not
spectrally flat.

:meth:`Attenuator.set_od` picks, among every combination of slots, the one whose total OD is
closest to the target (ties: fewest wheels moved, then fewest slots crossed, then station
order), and moves the wheels so the beam never gets brighter than both the start and the end
state would allow: the wheels whose OD goes up move first.
"""

from __future__ import annotations

import itertools
import math
import numbers
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from instruments import roles

__all__ = ["Attenuator", "AttenuatorError", "AttenuatorSetting", "FilterWheelLike"]

#: Totals closer than this are the same OD for :meth:`Attenuator.available_ods`.
OD_RESOLUTION = 1e-9


class AttenuatorError(RuntimeError):
    """A wheel did not reach the position it was sent to (stalled, stuck or blocked); the
    message names the wheel and both positions, ``wheel_index`` is its index (station
    order)."""

    def __init__(self, message: str, wheel_index: int) -> None:
        super().__init__(message)
        self.wheel_index = wheel_index


class FilterWheelLike(Protocol):
    """What the attenuator needs of a wheel (the FW102C/FW212C drivers have it)."""

    name: str
    slot_count: int

    @property
    def identity(self) -> str: ...

    @property
    def position(self) -> int: ...

    def set_position(self, position: int) -> None: ...


@dataclass(frozen=True)
class AttenuatorSetting:
    """One slot per wheel (1-based positions, station order) and its total OD."""

    positions: tuple[int, ...]
    od: float

    @property
    def transmission(self) -> float:
        """Transmission 10^-OD (fraction)."""
        return 10.0 ** (-self.od)


def _slot_distance(a: int, b: int, slots: int) -> int:
    """Slots crossed between positions a and b going the shorter way round."""
    forward = (b - a) % slots
    return min(forward, slots - forward)


class Attenuator(roles.Attenuator):
    """Control stacked filter wheels as one attenuator.

    :param wheels: The wheels, in beam (station) order.
    :param od_per_slot: For each wheel, the optical density of each slot, slot 1 first
        (one value per slot; 0 = open).

    .. code-block:: python

        attenuator = Attenuator([wheel_a, wheel_b],
                                [[0, 0.5, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5]])
        attenuator.set_od(3.0)       # e.g. OD 1 + OD 2
        attenuator.transmission      # 1e-3
    """

    def __init__(
        self,
        wheels: Sequence[FilterWheelLike],
        od_per_slot: Sequence[Sequence[float]],
    ) -> None:
        if not wheels:
            raise ValueError("an attenuator needs at least one filter wheel")
        if len(od_per_slot) != len(wheels):
            raise ValueError(f"{len(wheels)} wheels but {len(od_per_slot)} OD lists")
        tables: list[tuple[float, ...]] = []
        for wheel, ods in zip(wheels, od_per_slot, strict=True):
            values = tuple(float(od) for od in ods)
            if len(values) != wheel.slot_count:
                raise ValueError(f"{wheel.name}: {wheel.slot_count} slots but {len(values)} "
                                 "OD values")
            if any(not math.isfinite(od) or od < 0 for od in values):
                raise ValueError(f"{wheel.name}: optical densities must be finite and >= 0, "
                                 f"got {list(values)}")
            tables.append(values)
        self.wheels = list(wheels)
        #: Optical density of each slot of each wheel.
        self.od_per_slot: list[tuple[float, ...]] = tables
        #: Measured total OD of slot combinations (a calibration), by positions.
        self.combination_od: dict[tuple[int, ...], float] = {}
        #: One line naming the calibration in use ("" = the nominal ODs).
        self.calibration_label = ""
        #: Read each wheel's position back after moving it (:class:`AttenuatorError` when
        #: it did not get there); procedures that depend on the OD turn it on.
        self.verify_moves = False
        self.lock = threading.RLock()
        self._settings = self._make_settings()

    def _make_settings(self) -> list[AttenuatorSetting]:
        settings = []
        for index in itertools.product(*(range(len(t)) for t in self.od_per_slot)):
            positions = tuple(p + 1 for p in index)
            od = self.combination_od.get(positions, sum(
                table[p] for table, p in zip(self.od_per_slot, index, strict=True)))
            settings.append(AttenuatorSetting(positions=positions, od=od))
        return settings

    def apply_calibration(self, od_per_slot: Sequence[Sequence[float]],
                          combination_od: Mapping[tuple[int, ...], float] | None = None,
                          label: str = "calibrated") -> None:
        """Use measured optical densities from now on: each slot's (one list per wheel,
        station order) and, where measured, the total of a slot combination (positions
        1-based; the others are the sums of their slots). ``label`` names the calibration in
        :meth:`describe`."""
        tables = [tuple(float(od) for od in ods) for ods in od_per_slot]
        if [len(t) for t in tables] != [len(t) for t in self.od_per_slot]:
            raise ValueError("a calibration needs one OD per slot of every wheel")
        with self.lock:
            self.od_per_slot = tables
            self.combination_od = {tuple(int(p) for p in k): float(v)
                                   for k, v in (combination_od or {}).items()}
            self.calibration_label = label
            self._settings = self._make_settings()

    def describe(self) -> str:
        """The wheels and the OD of each slot in one line, with the calibration in use."""
        text = super().describe()
        if self.calibration_label:
            text += f"; calibration {self.calibration_label}"
        return text

    @property
    def identity(self) -> str:
        """Get the identities of the wheels, in station order, joined by ``" + "`` (str;
        queries every wheel)."""
        return " + ".join(str(wheel.identity) for wheel in self.wheels)

    # --- what is possible -----------------------------------------------------------------
    def settings(self) -> list[AttenuatorSetting]:
        """Get every slot combination with its total OD (station order of the wheels)."""
        return list(self._settings)

    def available_ods(self) -> list[float]:
        """Get the distinct total optical densities the wheels can make, sorted ascending."""
        ods: list[float] = []
        for od in sorted(s.od for s in self._settings):
            if not ods or od - ods[-1] > OD_RESOLUTION:
                ods.append(od)
        return ods

    def od_of(self, positions: Sequence[int]) -> float:
        """Total optical density of the given wheel positions (1-based, station order)."""
        if len(positions) != len(self.wheels):
            raise ValueError(f"need {len(self.wheels)} positions, got {len(positions)}")
        total = 0.0
        for wheel, table, position in zip(self.wheels, self.od_per_slot, positions, strict=True):
            if not 1 <= position <= len(table):
                raise ValueError(f"{wheel.name}: position {position} outside 1..{len(table)}")
            total += table[position - 1]
        return self.combination_od.get(tuple(int(p) for p in positions), total)

    # --- state ----------------------------------------------------------------------------
    @property
    def positions(self) -> tuple[int, ...]:
        """Get the present wheel positions (1-based, station order; read from the wheels)."""
        with self.lock:
            return tuple(int(wheel.position) for wheel in self.wheels)

    @property
    def od(self) -> float:
        """Get the present total optical density (float; read from the wheels)."""
        return self.od_of(self.positions)

    @property
    def transmission(self) -> float:
        """Get the present transmission 10^-OD (float, fraction; read from the wheels)."""
        return 10.0 ** (-self.od)

    # --- moves ----------------------------------------------------------------------------
    def choose(self, target_od: float, current: Sequence[int] | None = None) -> AttenuatorSetting:
        """Get the slot combination whose total OD is closest to ``target_od`` (float, >= 0).

        Ties go to the combination that moves the fewest wheels, then crosses the fewest
        slots from ``current`` (if given), then to the first in station order.
        """
        if isinstance(target_od, bool) or not isinstance(target_od, numbers.Real):
            raise ValueError(f"target OD must be a number, got {target_od!r}")
        target = float(target_od)
        if not math.isfinite(target) or target < 0:
            raise ValueError(f"target OD must be a finite number >= 0, got {target_od!r}")

        def cost(setting: AttenuatorSetting) -> tuple[float, int, int]:
            error = round(abs(setting.od - target) / OD_RESOLUTION)
            if current is None:
                return (error, 0, 0)
            moved = sum(1 for a, b in zip(current, setting.positions, strict=True) if a != b)
            crossed = sum(
                _slot_distance(a, b, len(table))
                for a, b, table in zip(current, setting.positions, self.od_per_slot, strict=True)
            )
            return (error, moved, crossed)

        return min(self._settings, key=cost)

    def set_positions(self, positions: Sequence[int]) -> None:
        """Move the wheels to ``positions`` (1-based, station order), the wheels whose OD goes
        up first, so the beam is never brighter than at the start or the end.

        :raises AttenuatorError: with :attr:`verify_moves`, a wheel does not read back the
            position it was sent to.
        """
        self.od_of(positions)  # validates before anything moves
        with self.lock:
            self._move(self.positions, tuple(positions))

    def _move(self, current: Sequence[int], positions: Sequence[int]) -> None:
        moves = [
            (table[new - 1] - table[old - 1], index, new)
            for index, (table, old, new) in enumerate(
                zip(self.od_per_slot, current, positions, strict=True)
            )
            if new != old
        ]
        # OD increases (positive change) first, largest first; decreases last.
        for _change, index, new in sorted(moves, key=lambda m: (-m[0], m[1])):
            self.wheels[index].set_position(new)
            if not self.verify_moves:
                continue
            reached = int(self.wheels[index].position)
            if reached != new:
                raise AttenuatorError(
                    f"{self.wheels[index].name}: sent to position {new} but reads {reached} "
                    "(stuck or blocked?)", index)

    def set_od(self, target_od: float) -> float:
        """Move the wheels to the slot combination closest to ``target_od`` (float, >= 0)
        and return the total OD reached.

        :raises ValueError: before anything moves, for a negative or non-finite target.
        :raises AttenuatorError: with :attr:`verify_moves`, a wheel does not read back the
            position it was sent to.
        """
        self.choose(target_od)  # validates before any traffic
        with self.lock:
            current = self.positions
            setting = self.choose(target_od, current=current)
            self._move(current, setting.positions)
            return setting.od

    def shutdown(self) -> None:
        """Leave the wheels where they are (the shutter makes the beam safe)."""
