"""How long an SMU takes to measure: one timing model per model family, pure functions.

The same functions give the drivers' sweep-duration estimates and VISA timeouts, the simulated
instruments' virtual time (``labctl/sim/keithley24xx.py``, ``labctl/sim/keithley2450.py``) and
``labctl validate``'s run-time estimate, so an estimate is what the simulated instrument does.

Families: ``"2400"`` (the 2400 and the 2420, same firmware) and ``"2450"``; :func:`family`
maps a model number to its family.

2400 family -- the source-delay-measure (SDM) cycle of the Keithley 2400 Series SourceMeter
User's Manual (pp. 115, 430-435; docs/instruments.md §1.10)::

    settle  = trigger latency (225 us) + trigger delay + source configuration (50 us)
              + source delay (auto delay: 1 ms + 100 us)
    reading = settle + phases x (NPLC / f_line + 185 us) + firmware overhead

with ``phases`` = functions + 2 with auto-zero on (one signal phase per measured function plus
a reference and a zero phase shared by all), one per function with it off, and the firmware
overhead of the manual's examples: auto-zero on, one function 1.8 ms (V source) / 2.15 ms
(I source), two or more 2.3 / 2.65 ms; auto-zero off 0.30 / 0.64 ms. Checks against the
manual: 0.06 PLC at 60 Hz, two functions: 4 x 1.185 ms + 2.3 ms = 7.04 ms of conversion and
overhead against its ~7.1 ms; 0.01 PLC, one function: 3 x 0.352 ms + 1.8 ms = 2.86 ms against
~2.9 ms. The latency and source configuration are added as the manual's SDM formula lists
them (⚠ the example overheads may already contain them: 0.275 ms per point at most).

2450 -- Keithley Model 2450 Reference Manual p. 138 (autodelay by current range) and
docs/instruments.md §2.2 (no readings/s specification was found ⚠)::

    reading = source delay (or autodelay by range) + sweep delay + NPLC / f_line + 1 ms

(auto-zero and the number of functions are not modelled). In a built-in sweep labctl sets the
source delay to 0 and passes the dwell as the sweep delay (the two add up, manual pp. 395-400).

Each message over the bus also costs the instrument some parsing and transfer time
(:data:`MESSAGE_OVERHEAD_S`: 4.5 ms on GPIB for the 2400, which reproduces the ~80 readings/s of
software point-by-point readings at 0.01 PLC, docs/instruments.md §1.10; 0.5 ms on USB/LAN for
the 2450 ⚠); hardware sweeps send one message for all their points, point-by-point readings
one or two per point.

Which function ``labctl validate`` calls (``nplc`` and ``line_frequency_hz`` of the step and
the station, ``model`` the SMU's :attr:`~instruments.smu.SourceMeter.model`):

- **J-V sweep step (hardware sweep)**, per direction:
  ``sweep_duration_s(model, points, source_delay_s, nplc, line_frequency_hz)``, with
  ``source_delay_s`` the step's ``dwell_s`` or, for a ``scan_rate_v_s``,
  ``source_delay_for_scan_rate_s(model, step_v, scan_rate_v_s, nplc, line_frequency_hz)``
  (this is also the delay to program).
- **Point-by-point reading** (J-V without hardware sweep, SCLC, intensity-Voc readings): per
  point ``dwell_s + point_reading_s(model, nplc, line_frequency_hz)`` -- the level is set, the
  procedure waits the dwell, then reads.
- **Steady-state hold reading** (one poll of a quasi-steady-state J-V hold, the level already
  set): ``hold_reading_s(model, nplc, line_frequency_hz)``.
"""

from __future__ import annotations

import math

__all__ = [
    "MESSAGE_OVERHEAD_S",
    "autodelay_2450_s",
    "family",
    "hold_reading_s",
    "point_reading_s",
    "reading_time_s",
    "sdm_cycle_2400_s",
    "source_delay_for_scan_rate_s",
    "sweep_duration_s",
    "sweep_timeout_s",
]

#: Family of each model number.
FAMILIES: dict[str, str] = {"2400": "2400", "2420": "2400", "2450": "2450"}

# --- 2400 family (2400 manual pp. 115, 430-435) ---------------------------------------------
#: Trigger latency of one SDM cycle, in seconds.
TRIGGER_LATENCY_2400_S = 225e-6
#: Source configuration time of one SDM cycle, in seconds.
SOURCE_CONFIG_2400_S = 50e-6
#: Fixed part of one A/D conversion phase, in seconds.
AD_PHASE_OVERHEAD_2400_S = 185e-6
#: Source delay with auto delay on: 1 ms after *RST plus 100 us, in seconds.
AUTO_DELAY_2400_S = 1e-3 + 100e-6
#: Firmware overhead per SDM cycle, in milliseconds, by (auto-zero, two or more functions,
#: sourcing current).
FIRMWARE_OVERHEAD_2400_MS: dict[tuple[bool, bool, bool], float] = {
    (True, False, False): 1.8,
    (True, False, True): 2.15,
    (True, True, False): 2.3,
    (True, True, True): 2.65,
    (False, False, False): 0.30,
    (False, False, True): 0.64,
    (False, True, False): 0.30,
    (False, True, True): 0.64,
}

# --- 2450 (2450 manual p. 138; docs/instruments.md §2.2) ------------------------------------
#: Overhead of one reading, in seconds (⚠ no specification found).
POINT_OVERHEAD_2450_S = 1e-3

#: Parsing and transfer time of one message, in seconds, by family.
MESSAGE_OVERHEAD_S: dict[str, float] = {"2400": 0.0045, "2450": 0.0005}
#: Messages of one ``read()`` of the labctl driver: 2400 ``:READ?``; 2450 ``:READ?`` and the
#: limit-trip query.
READ_MESSAGES: dict[str, int] = {"2400": 1, "2450": 2}

#: Margin and fixed allowance of a VISA timeout around an expected duration.
TIMEOUT_FACTOR = 1.2
TIMEOUT_ALLOWANCE_S = 10.0
#: Integration times per point the 2450 sweep timeout allows for on top of the model (the
#: auto-zero reference and zero conversions a real 2450 may make, not in the model).
TIMEOUT_EXTRA_INTEGRATIONS_2450 = 2


def family(model: str) -> str:
    """The timing family of an SMU model: ``"2400"`` for the 2400 and 2420, ``"2450"``.

    :raises ValueError: for a model labctl has no timing model for.
    """
    try:
        return FAMILIES[str(model)]
    except KeyError:
        raise ValueError(f"no timing model for SMU model {model!r}") from None


def _check(name: str, value: float, *, minimum: float = 0.0, strict: bool = False) -> float:
    number = float(value)
    if not math.isfinite(number) or number < minimum or (strict and number == minimum):
        relation = ">" if strict else ">="
        raise ValueError(f"{name}={value!r} must be a finite number {relation} {minimum:g}")
    return number


def _integration_s(nplc: float, line_frequency_hz: float) -> float:
    nplc = _check("nplc", nplc, strict=True)
    line_frequency_hz = _check("line_frequency_hz", line_frequency_hz, strict=True)
    return nplc / line_frequency_hz


def sdm_cycle_2400_s(
    nplc: float,
    line_frequency_hz: float,
    *,
    auto_zero: bool = True,
    functions: int = 2,
    source_delay_s: float | None = 0.0,
    source_function: str = "VOLT",
    trigger_delay_s: float = 0.0,
) -> tuple[float, float]:
    """(settle, total) time of one 2400-family SDM cycle, in seconds.

    :param nplc: Integration time in power-line cycles.
    :param line_frequency_hz: Mains frequency.
    :param auto_zero: Auto-zero on (``:SYST:AZER ON``, the state after ``*RST``).
    :param functions: Measured functions (labctl measures V and I: 2); at least 1 is counted.
    :param source_delay_s: Programmed source delay, or None for the auto delay.
    :param source_function: ``"VOLT"`` or ``"CURR"``.
    :param trigger_delay_s: ``:TRIG:DEL``.
    :returns: settle = time from the trigger to the start of the conversions; total = the
        whole cycle.
    """
    integration_s = _integration_s(nplc, line_frequency_hz)
    n_functions = max(1, int(functions))
    phases = n_functions + 2 if auto_zero else n_functions
    conversion_s = phases * (integration_s + AD_PHASE_OVERHEAD_2400_S)
    overhead_ms = FIRMWARE_OVERHEAD_2400_MS[
        (bool(auto_zero), n_functions > 1, source_function == "CURR")
    ]
    if source_delay_s is None:
        delay_s = AUTO_DELAY_2400_S
    else:
        delay_s = _check("source_delay_s", source_delay_s)
    trigger_delay_s = _check("trigger_delay_s", trigger_delay_s)
    settle_s = TRIGGER_LATENCY_2400_S + trigger_delay_s + SOURCE_CONFIG_2400_S + delay_s
    return settle_s, settle_s + conversion_s + overhead_ms * 1e-3


def autodelay_2450_s(current_range_a: float | None, source_function: str = "VOLT") -> float:
    """The 2450's source autodelay by current range, in seconds (2450 manual p. 138).

    :param current_range_a: The current range (measure range sourcing V, source range sourcing
        I), or None for an auto measure range sourcing V (counted as the 1 mA range ⚠).
    :param source_function: ``"VOLT"`` or ``"CURR"``.
    """
    range_a = 1e-3 if current_range_a is None else abs(float(current_range_a))
    if range_a <= 1e-7:
        return 0.050
    if range_a <= 1e-6:
        return 0.003
    if range_a <= 1e-5:
        return 0.002
    if range_a > 0.1 and source_function == "CURR":
        return 0.002
    return 0.001


def reading_time_s(
    model: str,
    nplc: float,
    line_frequency_hz: float,
    *,
    auto_zero: bool = True,
    functions: int = 2,
    source_delay_s: float | None = 0.0,
    source_function: str = "VOLT",
    trigger_delay_s: float = 0.0,
    sweep_delay_s: float = 0.0,
    current_range_a: float | None = None,
) -> float:
    """Time of one reading on the instrument (trigger to data), without bus messages, in s.

    :param model: SMU model number ("2400", "2420", "2450").
    :param nplc: Integration time in power-line cycles.
    :param line_frequency_hz: Mains frequency.
    :param auto_zero: 2400 family: auto-zero on (2450: not modelled).
    :param functions: 2400 family: number of measured functions (2450: not modelled).
    :param source_delay_s: Programmed source delay, or None for the auto delay.
    :param source_function: ``"VOLT"`` or ``"CURR"``.
    :param trigger_delay_s: 2400 family: ``:TRIG:DEL``.
    :param sweep_delay_s: 2450: the delay of a built-in sweep (added to the source delay).
    :param current_range_a: 2450: the current range the autodelay depends on (None: auto).
    """
    if family(model) == "2400":
        return sdm_cycle_2400_s(
            nplc, line_frequency_hz, auto_zero=auto_zero, functions=functions,
            source_delay_s=source_delay_s, source_function=source_function,
            trigger_delay_s=trigger_delay_s,
        )[1]
    integration_s = _integration_s(nplc, line_frequency_hz)
    if source_delay_s is None:
        delay_s = autodelay_2450_s(current_range_a, source_function)
    else:
        delay_s = _check("source_delay_s", source_delay_s)
    settle_s = delay_s + _check("sweep_delay_s", sweep_delay_s)
    return settle_s + integration_s + POINT_OVERHEAD_2450_S


def _points(points: int) -> int:
    try:
        number = float(points)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(points, bool) or not math.isfinite(number) or number != int(number) \
            or number < 1:
        raise ValueError(f"points={points!r} must be a whole number >= 1")
    return int(number)


def sweep_duration_s(
    model: str,
    points: int,
    source_delay_s: float,
    nplc: float,
    line_frequency_hz: float,
) -> float:
    """Time of a hardware sweep of ``points`` points as the labctl driver runs it, in s.

    2400 family: ``points`` SDM cycles with the programmed source delay, auto-zero on, V and I
    measured. 2450: ``points`` readings with source delay 0 and ``source_delay_s`` as the sweep
    delay. The one message that starts the sweep is not counted.
    """
    n_points = _points(points)
    delay_s = _check("source_delay_s", source_delay_s)
    if family(model) == "2400":
        per_point_s = reading_time_s(model, nplc, line_frequency_hz, source_delay_s=delay_s)
    else:
        per_point_s = reading_time_s(
            model, nplc, line_frequency_hz, source_delay_s=0.0, sweep_delay_s=delay_s
        )
    return n_points * per_point_s


def sweep_timeout_s(
    model: str,
    points: int,
    source_delay_s: float,
    nplc: float,
    line_frequency_hz: float,
) -> float:
    """The VISA timeout of a hardware sweep, in s: :func:`sweep_duration_s` (on the 2450 plus
    :data:`TIMEOUT_EXTRA_INTEGRATIONS_2450` integrations per point) x :data:`TIMEOUT_FACTOR`
    + :data:`TIMEOUT_ALLOWANCE_S`."""
    duration_s = sweep_duration_s(model, points, source_delay_s, nplc, line_frequency_hz)
    if family(model) == "2450":
        integration_s = _integration_s(nplc, line_frequency_hz)
        duration_s += _points(points) * TIMEOUT_EXTRA_INTEGRATIONS_2450 * integration_s
    return duration_s * TIMEOUT_FACTOR + TIMEOUT_ALLOWANCE_S


def source_delay_for_scan_rate_s(
    model: str,
    step_v: float,
    scan_rate_v_s: float,
    nplc: float,
    line_frequency_hz: float,
) -> float:
    """The source delay that makes a hardware sweep of ``step_v`` volts per point run at
    ``scan_rate_v_s`` volts per second, in s: the period ``|step_v| / scan_rate_v_s`` minus the
    time of a point without delay; 0 when the rate is out of reach (the sweep then runs as fast
    as the instrument can)."""
    step_v = abs(float(step_v))
    _check("step_v", step_v, strict=True)
    rate_v_s = _check("scan_rate_v_s", scan_rate_v_s, strict=True)
    per_point_s = sweep_duration_s(model, 1, 0.0, nplc, line_frequency_hz)
    return max(0.0, step_v / rate_v_s - per_point_s)


def hold_reading_s(
    model: str,
    nplc: float,
    line_frequency_hz: float,
    *,
    source_delay_s: float = 0.0,
) -> float:
    """Time of one ``read()`` of the labctl driver with the level already set (one poll of a
    steady-state hold), in s: the read messages plus one reading with ``source_delay_s``
    programmed (labctl's holds program 0)."""
    fam = family(model)
    messages_s = READ_MESSAGES[fam] * MESSAGE_OVERHEAD_S[fam]
    return messages_s + reading_time_s(
        model, nplc, line_frequency_hz, source_delay_s=source_delay_s
    )


def point_reading_s(
    model: str,
    nplc: float,
    line_frequency_hz: float,
    *,
    source_delay_s: float = 0.0,
) -> float:
    """Time of one point-by-point point, in s: ``set_voltage()`` (one message) then ``read()``
    (:func:`hold_reading_s`); the dwell the procedure waits between them is not included."""
    fam = family(model)
    return MESSAGE_OVERHEAD_S[fam] + hold_reading_s(
        model, nplc, line_frequency_hz, source_delay_s=source_delay_s
    )
