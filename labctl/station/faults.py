"""The ``simulation.faults`` list of a station file: faults the simulated bench injects.

One entry gives an instrument (its station key), a kind and when the fault starts -- exactly
one of ``at_s``, ``at_row`` and ``after_ops``. A fault is persistent (it stays until the bench
is reset) unless ``once: true``, which makes it spoil one exchange (or one move) only.
The bench that carries the faults out is :mod:`labctl.sim.faults` (this module is the model
only: :mod:`labctl.station` never imports the simulation).
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from labctl.models import InstrumentName, StrictModel
from labctl.yamlio import located_error

__all__ = ["FAULT_KINDS", "FaultKind", "FaultSpec"]

FaultKind = Literal["no_reply", "dead", "error_reply", "garbage", "slow", "lamp_fault",
                    "wheel_stuck", "shutter_stuck", "interlock"]

#: Every kind, with what it does on the bench.
FAULT_KINDS: dict[str, str] = {
    "no_reply": "the instrument carries out commands but never answers (hung firmware)",
    "dead": "the instrument drops off the bus: every VISA call to it fails as an I/O error",
    "error_reply": "every command fails: an SCPI error is queued (SCPI instruments) or the "
                   "error string of the protocol is the reply (serial and socket instruments)",
    "garbage": "replies are bytes that parse as nothing",
    "slow": "replies come later than the VISA timeout of the read waiting for them",
    "lamp_fault": "arc-lamp supplies only: the status byte's fault bit is set and the lamp goes "
                  "dark",
    "wheel_stuck": "filter wheels only: the wheel does not move and keeps answering its old "
                   "position",
    "shutter_stuck": "SC10 only: the shutter does not move (it answers as if it had)",
    "interlock": "Keithley SMUs only: the interlock trips and the output turns off, as the "
                 "2400 and 2450 manuals describe (the output cannot be switched on again)",
}

#: Kinds that act on one family of instruments (the others act on any instrument).
FAMILY_KINDS: dict[str, str] = {
    "lamp_fault": "arc lamp supply", "wheel_stuck": "filter wheel",
    "shutter_stuck": "shutter", "interlock": "SMU",
}


class FaultSpec(StrictModel):
    """One fault of ``simulation.faults`` (simulated bench only)."""

    instrument: InstrumentName = Field(
        description="Station key of the instrument that fails (one with a resource).")
    kind: FaultKind = Field(description="What fails: " + "; ".join(
        f"{kind}: {text}" for kind, text in FAULT_KINDS.items()) + ".")
    at_s: float | None = Field(
        None, ge=0.0, le=1e9,
        description="Start at this bench time (s, virtual time from the bench's power-on).")
    at_row: int | None = Field(
        None, ge=0, le=10**9,
        description="Start once the run has written this many data rows (all measurements "
                    "counted, 0 = before the first).")
    after_ops: int | None = Field(
        None, ge=0, le=10**9,
        description="Start after the instrument's own N-th operation (messages it was sent "
                    "since the bench's power-on; 0 = from the first).")
    once: bool = Field(
        False, description="true: spoil one exchange (one reply, one move) and heal; false "
                           "(default): the fault stays.")

    @model_validator(mode="after")
    def _one_trigger(self) -> Self:
        given = [k for k in ("at_s", "at_row", "after_ops") if getattr(self, k) is not None]
        if len(given) != 1:
            raise located_error(
                "give exactly one of at_s, at_row, after_ops (when the fault starts)"
                + (f"; got {', '.join(given)}" if given else ""), ())
        return self
