"""Faults from the station file on the simulated bench (``simulation.faults``).

The model of an entry is :class:`labctl.station.faults.FaultSpec` (instrument, kind, one of
``at_s`` / ``at_row`` / ``after_ops``, ``once``). A :class:`FaultSchedule` holds the entries
not yet started; the bench polls it on every message an instrument receives, every VISA read
and every data row the run writes (:meth:`labctl.sim.bench.Bench.row_written`), and starts each
fault whose moment has come on its emulator (:meth:`labctl.sim.scpi.ScpiDevice.start_fault`).

What each kind does on the bench, per emulator family:

- ``no_reply``: commands are carried out, replies are dropped (every emulator).
- ``dead``: nothing is carried out or answered, a read times out, reopening the session fails
  (``VI_ERROR_RSRC_NFOUND``) and so does a device clear (every emulator).
- ``error_reply``: commands are not carried out; SCPI instruments queue ``-240,"Hardware
  error"`` (``:SYST:ERR?`` still answers), the Thorlabs terminals answer ``CMD_NOT_DEFINED``,
  the Newport supply answers its event register with the execution-error bit, the G2V Pico an
  ``error`` member.
- ``garbage``: the reply is replaced by bytes that parse as nothing, with the reply's usual
  ending (so the read ends and the driver's parsing fails).
- ``slow``: the reply comes one second after the VISA timeout of the read waiting for it (the
  read times out; the late reply sits in the buffer until a device clear drops it).
- ``lamp_fault`` (Newport 69907/69920): the status byte's fault bit (bit 3) is set and the lamp
  goes dark; ``START`` does not ignite it while the fault lasts.
- ``wheel_stuck`` (FW102C/FW212C): ``pos=n`` does not move the wheel; ``pos?`` answers the old
  position.
- ``shutter_stuck`` (SC10): ``ens`` toggles the enable but the shutter does not move;
  ``closed?`` answers where the shutter really is.
- ``interlock`` (Keithley 2400/2420/2450): the interlock opens, the output turns off and cannot
  be switched on (the command queues an error), as the manuals describe the interlock.

``once: true`` heals the instrument after one spoiled exchange (one reply dropped, one garbage
or late reply, one refused command, one move not made). For ``lamp_fault`` and ``interlock`` it
is one event: the lamp goes out / the output trips once, and can be started again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labctl.station.faults import FAMILY_KINDS, FaultSpec

if TYPE_CHECKING:
    from labctl.sim.bench import Bench
    from labctl.sim.scpi import ScpiDevice

__all__ = ["FaultSchedule"]


class FaultSchedule:
    """The faults of ``simulation.faults`` that have not started yet, and the row counter."""

    def __init__(self, bench: Bench, specs: list[FaultSpec]) -> None:
        self._bench = bench
        self._specs = list(specs)
        self.pending: list[FaultSpec] = []
        #: Data rows the run has written so far (``at_row``).
        self.rows_written = 0
        self._polling = False

    def check(self) -> None:
        """Refuse an entry naming an instrument the bench has not, or a family kind the
        instrument's emulator does not have (ValueError naming the entry)."""
        for index, spec in enumerate(self._specs):
            where = f"simulation.faults[{index}]"
            device = self._bench.instruments.get(spec.instrument)
            if device is None:
                known = ", ".join(self._bench.instruments) or "none"
                raise ValueError(f"{where}: no simulated instrument {spec.instrument!r} with a "
                                 f"resource (instruments: {known})")
            if spec.kind in FAMILY_KINDS and spec.kind not in device.family_faults:
                raise ValueError(f"{where}: {spec.kind} is a fault of a "
                                 f"{FAMILY_KINDS[spec.kind]}, not of {spec.instrument!r}")

    def arm(self) -> None:
        """Every entry pending again, no rows written (bench power-on)."""
        self.pending = list(self._specs)
        self.rows_written = 0

    def row_written(self) -> None:
        self.rows_written += 1
        self.poll()

    def _due(self, spec: FaultSpec, device: ScpiDevice) -> bool:
        if spec.at_s is not None:
            return self._bench.clock.now_s() >= spec.at_s
        if spec.at_row is not None:
            return self.rows_written >= spec.at_row
        return spec.after_ops is not None and device.op_count >= spec.after_ops

    def poll(self, device: ScpiDevice | None = None) -> None:
        """Start every pending fault whose moment has come."""
        if not self.pending or self._polling:
            return
        self._polling = True  # a fault's start talks to the bench (light_changing)
        try:
            for spec in list(self.pending):
                target = self._bench.instruments[spec.instrument]
                if self._due(spec, target):
                    self.pending.remove(spec)
                    target.start_fault(spec.kind, once=spec.once)
        finally:
            self._polling = False
