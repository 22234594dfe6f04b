"""What every labctl procedure shares: station roles, light control, rows, and safe shutdown.

A labctl procedure is a pymeasure :class:`~pymeasure.experiment.Procedure` that says *what* to
measure; the runner (``labctl/runner.py``) decides *how* it runs, as a Bluesky plan leaves
execution to its RunEngine. The runner -- or pymeasure's own ``Worker`` -- creates
the procedure, sets its parameters, and before calling :meth:`~LabctlProcedure.startup` sets

- ``procedure.roles``: a :class:`labctl.opened_station.Roles` (the SMU wired to the device,
  the light source, shutter, attenuator and irradiance sensor of the station);
- ``procedure.emit`` and ``procedure.should_stop``: as pymeasure's ``Worker`` does;
- ``procedure.time_offset_s``: seconds added to the ``Time (s)`` column so time continues
  across the steps of a sequence and across a resume (default 0).

It then calls ``startup()``, ``execute()`` and, in a ``finally``, ``shutdown()`` -- the order of
pymeasure's ``Worker.run``. Rows go out one by one with ``emit("results", row)`` (labctl's
append-only writer refuses unknown keys and ``"batch results"``).

Conventions (docs/contracts.md, "CSV columns"; docs/methods.md §1):

- ``Current (A)`` is the SMU's sign (generated current negative); ``Current density
  (mA/cm**2)`` is the photovoltaic sign, J = -I / area * 1e3, with the sample (mask) area.
- ``Time (s)`` is time on the labctl clock since the procedure's ``startup()`` plus
  ``time_offset_s``; a hardware sweep keeps the instrument's own point spacing.
- Waiting goes through :mod:`labctl.clock` in slices of at most 0.5 s, polling
  ``should_stop()``: abort is cooperative (docs/pymeasure-notes.md §1.1).
- The light path is watched while a measurement runs (:meth:`LabctlProcedure.watch_light_path`,
  called by ``wait`` and ``emit_row``, and right after a hardware sweep's rows): a lamp fault,
  a shutter that reads closed while the measurement needs light, or a filter wheel that reads
  another position than the one set (a stuck wheel answers its old one) ends it with a
  :class:`LightPathFault` naming the instrument. In a dark measurement the lamp, lit behind
  the closed shutter, is watched too, but its fault is a warning naming it, not a failure
  (the measurement does not need it; the next lit one stops at it). At its normal end a
  measurement calls :meth:`LabctlProcedure.end_light_exposure`: a last watch, then the shutter
  closed and confirmed closed, so a stuck shutter fails that measurement, not the next.
- :meth:`LabctlProcedure.shutdown` is the one place that makes the bench safe: SMU output off
  first, shutter closed, irradiance-sensor SMU off, each in its own ``try``; it never raises and
  never switches an arc lamp off (docs/contracts.md, "Safety and failure" and "Semantics").
- Metadata follow the workaround of docs/pymeasure-notes.md §1.3: declared with a
  default and no ``fget``, assigned in ``startup()`` (or, for results known only at the end,
  as attributes after the measurement; the runner re-reads them).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np
from pymeasure.experiment import (
    Metadata,
    Parameter,
    Procedure,
)

from instruments.roles import Identified
from labctl import __version__, clock
from labctl.errors import error_line
from labctl.guard import InstrumentFault
from labctl.opened_station import Roles, identity_of
from labctl.registry.parameters import parameter_for_field
from labctl.sequence import Sample

log = logging.getLogger(__name__)
log.addHandler(logging.NullHandler())

__all__ = [
    "BASE_DATA_COLUMNS",
    "COMPLIANCE_DENSITY_A_CM2",
    "LabctlProcedure",
    "MIN_COMPLIANCE_A",
    "LightPathFault",
    "ProcedureError",
    "WAIT_ANNOUNCED_S",
    "WATCH_INTERVAL_S",
    "WATCH_LONG_WAIT_INTERVAL_S",
    "WAIT_SLICE_S",
    "current_density_ma_cm2",
]

#: Longest single sleep while waiting, so an abort is noticed within this time [s].
WAIT_SLICE_S = 0.5
#: Waits longer than this are announced with their reason and time left (progress bar) [s].
WAIT_ANNOUNCED_S = 5.0
#: The light path (lamp status, shutter state) is checked at most this often while a
#: measurement runs [s of labctl time]: two serial queries (about 25 ms at 9600 baud), so a
#: one-second point-by-point sweep is checked during its course, not only at its start.
WATCH_INTERVAL_S = 0.5
#: ... and at most this often during a long, announced wait (warm-up, light soak, bias hold)
#: [s of labctl time]: a 30-minute warm-up is not polled 3600 times.
WATCH_LONG_WAIT_INTERVAL_S = 5.0
#: Current density used to derive the default compliance from the area [A/cm^2] (50 mA/cm^2:
#: above any single-junction photocurrent, with margin for dark injection at 1.3 V).
COMPLIANCE_DENSITY_A_CM2 = 0.050
#: Smallest derived compliance [A].
MIN_COMPLIANCE_A = 0.010

#: Columns every J-V-like procedure writes (docs/contracts.md, "CSV columns"; pint-parsable units).
BASE_DATA_COLUMNS: list[str] = [
    "Voltage (V)",
    "Current (A)",
    "Current density (mA/cm**2)",
    "Time (s)",
    "Irradiance (mW/cm**2)",
    "Compliance",
]


class ProcedureError(RuntimeError):
    """A procedure cannot run as asked on this station (e.g. a dark measurement without a
    shutter); the message says why in one line."""


class LightPathFault(ProcedureError):
    """The light path failed during a measurement: the lamp reports a fault, the shutter
    reads closed while the measurement needs light, or one of them cannot say. The message
    names the instrument (station key, driver and resource) and what was found."""

    labctl_message = True


def current_density_ma_cm2(current_a: Any, area_cm2: float) -> Any:
    """Current density in the photovoltaic sign [mA/cm^2]: ``-current_a / area_cm2 * 1e3``.

    Parameters
    ----------
    current_a : float or array_like
        Current as the SMU reads it [A] (generated current negative).
    area_cm2 : float
        Measurement (mask) area [cm^2], > 0.
    """
    if np.ndim(current_a):
        return -np.asarray(current_a, dtype=float) / area_cm2 * 1e3
    return -float(current_a) / area_cm2 * 1e3


def _identity(instrument: Identified | None) -> str:
    """An instrument's ``identity`` (a property of every role), ``"none"`` without one."""
    return "none" if instrument is None else identity_of(instrument)


def _finite_or_none(value: Any) -> float | None:
    """``None`` for None, NaN and the empty string (an unset optional number), else float."""
    if value is None or value == "":
        return None
    number = float(value)
    return None if math.isnan(number) else number


class LabctlProcedure(Procedure):
    """Base of labctl's solar-cell procedures: parameters, metadata, light, rows and shutdown.

    Subclasses implement ``execute()`` with the helpers here: :meth:`light_on`,
    :meth:`light_off`, :meth:`measured_irradiance_mw_cm2`, :meth:`wait`,
    :meth:`reading_row`, :meth:`sweep_rows`, :meth:`emit_row`, :meth:`compliance_for_a`.
    """

    # --- parameters common to every procedure (attribute names carry the unit) -------------
    # (each procedure's own parameters -- irradiance, compliance, NPLC... -- are generated
    # from its step model by labctl.registry.parameters.parameters_from)
    area_cm2 = parameter_for_field("area_cm2", Sample.model_fields["area_cm2"])
    smu_name = Parameter(
        "SMU", default="smu", description="Name of the station SMU wired to the device."
    )
    sample_id = Parameter("Sample ID", default="", description="Sample identifier.")

    # --- metadata (docs/pymeasure-notes.md §1.3: default, no fget, set in startup) ----------
    station_name = Metadata("Station", default="")
    simulated_run = Metadata("Simulated", default=False)
    labctl_version = Metadata("labctl version", default=__version__)
    start_time_utc = Metadata("Start time (UTC)", default="")
    line_frequency_hz = Metadata("Line frequency (Hz)", default=math.nan)
    smu_identity = Metadata("SMU identity", default="")
    light_source_identity = Metadata("Light source", default="none")
    shutter_identity = Metadata("Shutter", default="none")
    attenuator_description = Metadata("Attenuator", default="none")
    irradiance_sensor_identity = Metadata("Irradiance sensor", default="none")
    irradiance_sensor_calibration = Metadata("Irradiance sensor calibration", default="none")
    compliance_used_a = Metadata("Compliance used (A)", default=math.nan)
    # Known only after execute(): plain attributes that the runner records in the summary
    # (the CSV header is written after startup(), before they exist). Attribute -> label.
    RESULT_ATTRIBUTES: ClassVar[dict[str, str]] = {
        "irradiance_for_pce_mw_cm2": "Irradiance for PCE (mW/cm**2)",
        "irradiance_source": "Irradiance source",
    }
    irradiance_for_pce_mw_cm2: float = math.nan
    irradiance_source: str = ""

    DATA_COLUMNS: ClassVar[list[str]] = list(BASE_DATA_COLUMNS)

    # --- set by the runner (or a test) before startup() ------------------------------------
    roles: Any = None
    time_offset_s: float = 0.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: labctl-clock time of startup() [s]: the zero of ``Time (s)`` (before the offset).
        self.start_clock_s: float = clock.now_s()
        #: Whether the lamp was switched on / the shutter opened by :meth:`light_on` (so the
        #: watch checks them), and when the light path was last checked [s, labctl clock].
        self._lamp_watched = False
        self._shutter_watched = False
        self._watched_at_s = -math.inf
        #: Whether the attenuator's wheels are watched (from :meth:`light_on` until
        #: :meth:`light_off`), and whether the lamp is watched for a warning only (a dark
        #: measurement does not need it: :meth:`light_off`).
        self._wheels_watched = False
        self._lamp_warn_only = False
        #: Light-path findings that did not end the measurement (a lamp fault in the dark).
        self.light_path_warnings: list[str] = []

    # --- startup --------------------------------------------------------------------------
    def startup(self) -> None:
        """Check the roles and parameters, mark the start of the procedure's time, and fill the
        metadata (identities, station, clock, calibrations). Moves no light and switches no
        output on."""
        self.start_clock_s = clock.now_s()
        self.start_time_utc = datetime.now(UTC).isoformat(timespec="seconds")
        roles = self.roles
        if not isinstance(roles, Roles):
            raise ProcedureError(
                f"{type(self).__name__}: no station roles were given (set procedure.roles to "
                "labctl.opened_station.OpenStation.roles() before startup)"
            )
        area = _finite_or_none(self.area_cm2)
        if area is None or area <= 0:
            raise ProcedureError(
                f"{type(self).__name__}: area_cm2 must be a positive area in cm² "
                f"(got {self.area_cm2!r})"
            )
        if self.smu_name and roles.smu_name and str(self.smu_name) != str(roles.smu_name):
            raise ProcedureError(
                f"{type(self).__name__}: parameter smu_name={self.smu_name!r} but the roles "
                f"give SMU {roles.smu_name!r}"
            )
        self.smu_name = roles.smu_name
        self.station_name = roles.station.station if roles.station is not None else ""
        self.simulated_run = bool(roles.simulated)
        self.labctl_version = __version__
        self.line_frequency_hz = self._line_frequency_hz()
        self.smu_identity = _identity(roles.smu)
        self.light_source_identity = _identity(roles.light)
        self.shutter_identity = _identity(roles.shutter)
        self.attenuator_description = (
            roles.attenuator.describe() if roles.attenuator is not None else "none")
        self.irradiance_sensor_identity = _identity(roles.irradiance_sensor)
        sensor = roles.irradiance_sensor
        self.irradiance_sensor_calibration = (
            sensor.calibration_description() if sensor is not None else "none")

    def _line_frequency_hz(self) -> float:
        return float(self.roles.smu.line_frequency_hz)

    # --- compliance -----------------------------------------------------------------------
    def compliance_for_a(self, voltages_v: Sequence[float]) -> float:
        """Current compliance [A] for sourcing the given voltages [V].

        ``compliance_a`` when it is set (> 0); otherwise min(SMU limit, area × 50 mA/cm²),
        at least 10 mA (docs/methods.md §1: compliance from area × expected J_max with a
        margin for dark injection, as centralcontrol's min(SMU limit, area·J_max)). The SMU
        limit is the model's combined envelope at the largest voltage magnitude. The driver
        refuses an explicit value beyond the model's limits before anything is sent.
        """
        explicit = _finite_or_none(self.compliance_a)
        if explicit is not None and explicit > 0:
            return explicit
        derived_a = max(float(self.area_cm2) * COMPLIANCE_DENSITY_A_CM2, MIN_COMPLIANCE_A)
        peak_v = max((abs(float(v)) for v in voltages_v), default=0.0)
        return min(derived_a, self.roles.smu.limits.max_current_at_a(peak_v))

    # --- light ----------------------------------------------------------------------------
    def light_on(self, full_intensity: bool = True) -> bool:
        """Illuminate the device: switch the source on and wait until it is stable (ignition
        and warm-up take their time on the labctl clock), bring the attenuator to its lowest
        optical density and an LED to 100 % (with ``full_intensity``), then open the shutter.

        A station with neither light source nor shutter keeps its device lit: nothing to do.
        The warm-up wait stays interruptible (a 30-minute lamp warm-up ends at Ctrl-C).

        :returns: False when a stop was requested during the warm-up (the shutter stays
            closed and the caller stops cleanly), True otherwise.
        """
        roles = self.roles
        if roles.light is not None:
            self._ask_light_path("light_source", "switching it on",
                                 lambda: roles.light.turn_on(wait=False))
            self._lamp_watched = True
            self._lamp_warn_only = False
            stable_at_s = roles.light.stable_at_s()
            if stable_at_s is not None and not self.wait(stable_at_s - clock.now_s(),
                                                        reason="lamp warm-up"):
                return False
            if full_intensity and roles.light.has_programmable_intensity:
                roles.light.set_relative_intensity(1.0)
        if roles.attenuator is not None:
            self._attenuator_for_light(full_intensity)
        if roles.shutter is not None:
            self._ask_light_path("shutter", "opening it", roles.shutter.open)
            self._shutter_watched = True
        self.watch_light_path(force=True)
        return True

    def _attenuator_for_light(self, full_intensity: bool) -> None:
        """With ``full_intensity`` the wheels to their lowest OD; then they are watched: each
        must keep reading the position last set (or, when none was, the one read now)."""
        attenuator = self.roles.attenuator
        positions = self._ask_wheels("reading its position", lambda: attenuator.positions)
        lowest_od = min(attenuator.available_ods())
        if full_intensity and attenuator.od_of(positions) > lowest_od:
            self._ask_wheels("moving it", lambda: attenuator.set_od(lowest_od))
        elif hasattr(attenuator, "set_to") and attenuator.set_to is None:
            attenuator.set_to = tuple(positions)
        self._wheels_watched = True

    def light_off(self) -> None:
        """Darken the device: close the shutter; without a shutter switch off an LED source.

        An arc lamp is never switched off for a measurement (docs/contracts.md, "Semantics"), so a
        station whose only light control is a lamp -- or that has no light control at all and
        keeps its device lit -- cannot measure in the dark.

        :raises ProcedureError: the station has no way to darken the device.
        """
        self.require_darkness()
        roles = self.roles
        self._shutter_watched = False
        self._wheels_watched = False
        if roles.shutter is not None:
            roles.shutter.close()
            if roles.light is not None:  # it stays lit behind the shutter: watched, warned
                self._lamp_watched = self._lamp_warn_only = True
        else:
            self._lamp_watched = False
            roles.light.turn_off()

    def require_darkness(self) -> None:
        """Refuse, before anything moves, a dark measurement the station cannot make: it needs
        a shutter, or an LED source that may be switched off (docs/contracts.md, "Semantics":
        a dark measurement then needs a shutter; arc lamps are not cycled per measurement).

        :raises ProcedureError: with the reason in one line.
        """
        roles = self.roles
        light = roles.light
        if roles.shutter is not None:
            return
        if light is not None and not light.is_arc_lamp:
            return
        station = roles.station.station if roles.station is not None else "this station"
        if light is None:
            reason = "it has no shutter and no light source, so its device is always lit"
        else:
            reason = "it has no shutter, and its arc lamp is not switched off per measurement"
        raise ProcedureError(f"a dark measurement needs a shutter: {station}: {reason}")

    @property
    def is_lit(self) -> bool:
        """Whether the procedure asked for light (subclasses with a ``light`` parameter)."""
        return bool(getattr(self, "light", True))

    def measured_irradiance_mw_cm2(self) -> float:
        """The irradiance sensor's reading [mW/cm²] when the station has one, else the
        ``irradiance_mw_cm2`` parameter. Also records which one in the metadata."""
        sensor = self.roles.irradiance_sensor
        if sensor is not None:
            self.irradiance_source = "irradiance sensor"
            return float(sensor.irradiance_mw_cm2())
        self.irradiance_source = "parameter"
        return float(self.irradiance_mw_cm2)

    def row_irradiance_mw_cm2(self) -> float:
        """Irradiance for the rows [mW/cm²]: measured (or the parameter) under light; in the
        dark the sensor's reading where there is one, else 0."""
        if self.is_lit:
            return self.measured_irradiance_mw_cm2()
        if self.roles.irradiance_sensor is not None:
            return self.measured_irradiance_mw_cm2()
        self.irradiance_source = "dark"
        return 0.0

    # --- waiting --------------------------------------------------------------------------
    def stop_requested(self) -> bool:
        """``should_stop()`` of the worker (False when run without one)."""
        should_stop: Callable[[], bool] | None = getattr(self, "should_stop", None)
        try:
            return bool(should_stop()) if should_stop is not None else False
        except NotImplementedError:
            return False

    def wait(self, duration_s: float, reason: str | None = None) -> bool:
        """Wait ``duration_s`` seconds on the labctl clock in slices of at most 0.5 s.

        A wait longer than :data:`WAIT_ANNOUNCED_S` is announced on the labctl clock
        (:func:`labctl.clock.announce_wait`) at every slice with ``reason`` (``"lamp
        warm-up"``, ``"light soak"``, ``"bias hold at 1.2 V"``; ``"waiting"`` without one) and
        the time left, so the progress bar shows what the run waits for.

        :returns: True when the whole time has passed, False as soon as ``should_stop()``
            answers True (the caller then stops cleanly).
        """
        total_s = max(0.0, float(duration_s))
        end_s = clock.now_s() + total_s
        shown = (reason or "waiting") if total_s > WAIT_ANNOUNCED_S else None
        try:
            while True:
                if self.stop_requested():
                    return False
                remaining_s = end_s - clock.now_s()
                if remaining_s <= 0:
                    return True
                if shown is not None:
                    clock.announce_wait(shown, remaining_s)
                clock.sleep(min(WAIT_SLICE_S, remaining_s))
                self.watch_light_path(interval_s=WATCH_INTERVAL_S if shown is None
                                      else WATCH_LONG_WAIT_INTERVAL_S)
        finally:
            if shown is not None:
                clock.announce_wait(shown, 0.0)

    def announce_hold(self, reason: str, remaining_s: float) -> None:
        """Show a hold made of short waits (a steady-state point: a reading every fraction of
        a second until steady, at most ``max_hold_s``) on the progress bar with its reason and
        the time it may still take (``remaining_s``; 0 ends it), when the clock is real. On a
        virtual clock the hold passes in no time and nothing is shown; a single wait longer
        than :data:`WAIT_ANNOUNCED_S` is announced by :meth:`wait` on either clock."""
        if getattr(clock.active(), "is_virtual", True):
            return
        clock.announce_wait(reason, remaining_s)

    # --- watching the light path ----------------------------------------------------------
    def watch_light_path(self, force: bool = False,
                         interval_s: float = WATCH_INTERVAL_S) -> None:
        """Check the light path while a measurement runs, at most every ``interval_s`` of
        labctl time (``force``: now; :meth:`wait` and :meth:`emit_row` call it): a lamp that
        :meth:`light_on` switched on must not report a fault (:attr:`LightSource.fault`), and
        a shutter it opened must read open (:attr:`Shutter.is_open`) until :meth:`light_off`.

        :raises LightPathFault: naming the instrument and what was found, or why it could not
            be asked (the run then ends failed, its output off, its rows kept).
        """
        watched = self._lamp_watched or self._shutter_watched or self._wheels_watched
        if not watched or self.roles is None:
            return
        now_s = clock.now_s()
        if not force and now_s - self._watched_at_s < interval_s:
            return
        self._watched_at_s = now_s
        roles = self.roles
        if self._lamp_watched and roles.light is not None:
            if self._lamp_warn_only:
                self._watch_lamp_in_the_dark()
            elif self._ask_light_path("light_source", "reading its fault status",
                                      lambda: roles.light.fault):
                self._light_path_fault("light_source", "it reports a fault (the lamp may be "
                                       "dark)")
        if self._wheels_watched and roles.attenuator is not None:
            self._watch_wheels()
        if self._shutter_watched and roles.shutter is not None:
            if not self._ask_light_path("shutter", "reading whether it is open",
                                        lambda: roles.shutter.is_open):
                self._light_path_fault("shutter", "it reads closed while the measurement "
                                       "needs light")

    def _watch_lamp_in_the_dark(self) -> None:
        """A dark measurement does not need the lamp: a lamp fault (or a lamp that cannot be
        asked) is a warning of the measurement naming the lamp, given once, not a failure;
        the next lit measurement stops at it (:meth:`light_on`)."""
        roles = self.roles
        label = self._light_path_label("light_source")
        try:
            faulted = bool(roles.light.fault)
            found = "it reports a fault (the lamp may be dark)"
        except Exception as exc:  # noqa: BLE001 - reported as the warning
            faulted, found = True, f"reading its fault status: {error_line(exc)}"
        if not faulted:
            return
        self._lamp_watched = self._lamp_warn_only = False  # warned once; asked no more
        text = (f"{label}: {found} (found at Time {self.elapsed_s():.1f} s); the dark "
                "measurement went on, it does not need the lamp")
        guard = getattr(roles.light, "_labctl_guard", None)
        if guard is not None:
            guard.add_warning(text)
        else:
            log.warning("%s", text)
        self.light_path_warnings.append(text)

    def _watch_wheels(self) -> None:
        """Each wheel must read the position last set (a stuck wheel answers its old one)."""
        attenuator = self.roles.attenuator
        expected = getattr(attenuator, "set_to", None)
        if expected is None:
            return
        for index, wheel in enumerate(attenuator.wheels):
            read = self._ask_wheels("reading its position", lambda w=wheel: int(w.position),
                                    index)
            if read != expected[index]:
                raise LightPathFault(
                    f"{self._wheel_label(index)}: it reads position {read} but was set to "
                    f"{expected[index]} (stuck?) (found at Time {self.elapsed_s():.1f} s)")

    def _wheel_label(self, index: int | None) -> str:
        """A wheel named as the station names it (all the attenuator's for ``None``)."""
        labels = list(getattr(self.roles.attenuator, "labels", []) or [])
        if not labels:
            return "attenuator"
        return " + ".join(labels) if index is None else labels[index]

    def _ask_wheels(self, what: str, ask: Callable[[], Any], index: int | None = None) -> Any:
        """``ask()``; its failure named with the wheel (``index``; all the attenuator's wheels
        for None) unless the station's guard named it already."""
        try:
            return ask()
        except (InstrumentFault, LightPathFault):
            raise
        except Exception as exc:
            raise LightPathFault(f"{self._wheel_label(index)}: {what}: "
                                 f"{error_line(exc)}") from exc

    def _light_path_label(self, role: str) -> str:
        """``"lamp (newport69907 at ASRL1::INSTR)"``: the station key, driver and resource of
        the station's instrument of a role (the role's name when the station is unknown)."""
        config = self.roles.station
        key = None
        if config is not None:
            key = config.light_source() if role == "light_source" else config.shutter()
        if key is None:
            return role.replace("_", " ")
        inst = config.instruments[key]
        resource = getattr(inst, "resource", None) or "?"
        return f"{key} ({inst.driver} at {resource})"

    def _ask_light_path(self, role: str, what: str, ask: Callable[[], Any]) -> bool:
        """``ask()`` as a bool; its failure named with the instrument (LightPathFault), unless
        the station's guard named it already (an InstrumentFault)."""
        try:
            return bool(ask())
        except InstrumentFault:
            raise  # already names the instrument, the command and why
        except Exception as exc:
            raise LightPathFault(f"{self._light_path_label(role)}: {what}: "
                                 f"{error_line(exc)}") from exc

    def _light_path_fault(self, role: str, found: str) -> None:
        raise LightPathFault(f"{self._light_path_label(role)}: {found} (found at Time "
                             f"{self.elapsed_s():.1f} s)")

    def end_light_exposure(self) -> None:
        """At the normal end of a measurement (the last call of ``execute()``): the light path
        is watched a last time (now), then the shutter :meth:`light_on` opened is closed and
        confirmed closed. A stuck shutter thus ends *this* measurement with a
        :class:`LightPathFault` naming it, and the next one (the forward J-V after the
        reverse) does not start. :meth:`shutdown` closes the shutter again (never raising).
        """
        self.watch_light_path(force=True)
        roles = self.roles
        if self._shutter_watched and roles is not None and roles.shutter is not None:
            self._shutter_watched = False
            self._ask_light_path("shutter", "closing it", roles.shutter.close)

    # --- rows -----------------------------------------------------------------------------
    def elapsed_s(self, clock_s: float | None = None) -> float:
        """``Time (s)`` value of a labctl-clock time (now by default)."""
        at_s = clock.now_s() if clock_s is None else float(clock_s)
        return at_s - self.start_clock_s + float(self.time_offset_s or 0.0)

    def reading_row(
        self,
        voltage_v: float,
        current_a: float,
        clock_s: float,
        in_compliance: bool,
        irradiance_mw_cm2: float,
    ) -> dict[str, float]:
        """One row with the base columns.

        :param voltage_v: Measured voltage [V].
        :param current_a: Current as the SMU reads it [A].
        :param clock_s: labctl-clock time of the reading [s].
        :param in_compliance: The source was at its compliance limit.
        :param irradiance_mw_cm2: Irradiance during the reading [mW/cm²].
        """
        return {
            "Voltage (V)": float(voltage_v),
            "Current (A)": float(current_a),
            "Current density (mA/cm**2)": current_density_ma_cm2(current_a, self.area_cm2),
            "Time (s)": self.elapsed_s(clock_s),
            "Irradiance (mW/cm**2)": float(irradiance_mw_cm2),
            "Compliance": 1 if in_compliance else 0,
        }

    @staticmethod
    def sweep_clock_times_s(
        instrument_times_s: Sequence[float], before_s: float, after_s: float
    ) -> np.ndarray:
        """Map a sweep's instrument timestamps onto the labctl clock [s].

        The spacing stays the instrument's; the readings are centred in the interval
        ``[before_s, after_s]`` during which the sweep call ran (never before ``before_s``).
        """
        times = np.asarray(instrument_times_s, dtype=float)
        if times.size == 0:
            return times
        span_s = float(times[-1] - times[0])
        start_s = max(before_s, 0.5 * (before_s + after_s) - 0.5 * span_s)
        return start_s + (times - times[0])

    def sweep_rows(
        self, sweep: Any, before_s: float, after_s: float, irradiance_mw_cm2: float
    ) -> list[dict[str, float]]:
        """Rows of a hardware sweep (a :class:`instruments.smu.SweepResult`) measured while
        the labctl clock went from ``before_s`` to ``after_s``."""
        times_s = self.sweep_clock_times_s(sweep.time_s, before_s, after_s)
        return [
            self.reading_row(
                sweep.voltage_v[k], sweep.current_a[k], times_s[k],
                bool(sweep.in_compliance[k]), irradiance_mw_cm2,
            )
            for k in range(len(sweep))
        ]

    def emit_row(self, row: dict[str, float]) -> None:
        """Write one row (``emit("results", row)``), then watch the light path
        (:meth:`watch_light_path`: the row is on disk whatever the watch finds)."""
        self.emit("results", row)
        self.watch_light_path()

    def emit_progress(self, percent: float) -> None:
        """Report progress in percent (0 to 100)."""
        self.emit("progress", float(min(100.0, max(0.0, percent))))

    # --- shutdown -------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Make the bench safe, whatever happened before: SMU output off first (the driver's
        ``shutdown()``), then the shutter closed, then the light source's end-of-run state
        (an arc lamp stays lit; an LED goes off), then the irradiance sensor's SMU off.

        Each step has its own ``try``; failures are logged, never raised, so the next step
        always runs. Safe after a startup that failed halfway.
        """
        roles = self.roles
        if roles is None:
            return
        steps: list[tuple[str, Any, str]] = [
            ("SMU", roles.smu, "shutdown"),
            ("shutter", roles.shutter, "close"),
            ("light source", roles.light, "shutdown"),
            ("irradiance sensor", roles.irradiance_sensor, "shutdown"),
        ]
        for label, instrument, method in steps:
            if instrument is None:
                continue
            try:
                getattr(instrument, method)()
            except Exception:  # noqa: BLE001 - every step must run; the failure is logged
                log.exception("%s: safe shutdown of the %s failed", type(self).__name__, label)
