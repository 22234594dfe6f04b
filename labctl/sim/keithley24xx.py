"""Emulators of the Keithley 2400 and 2420 SourceMeters (2400-series SCPI).

Reference: Keithley 2400 Series SourceMeter User's Manual (2400S-900-01), summarised in
``docs/instruments.md`` §1. What is emulated:

- the commands a driver uses (source, compliance, sense functions, NPLC, ranges, auto-zero,
  4-wire, output and off-state, sweeps and lists, trigger and arm counts, buffer, status and
  error queue), in long or short form;
- ``:READ?``/``:MEAS?``/``:FETC?``/``:TRAC:DATA?`` replies in the fixed element order
  V, I, R, TIME, STATUS whatever order ``:FORM:ELEM`` lists; unmeasured elements read
  ``+9.91E+37``; STATUS bit 3 (8) on compliance;
- errors: ``-113`` for an unknown header (no reply), ``+803`` for ``:READ?`` with the output
  off (auto output-off disabled), ``-222`` for a level or compliance beyond the model or its
  combined envelope (§1.2), ``-221`` for a sweep step outside start..stop;
- time: each reading takes the source-delay-measure cycle of §1.10 on the bench clock.

Replies and errors that docs/instruments.md does not give are marked ⚠ where they are emulated.
"""

from __future__ import annotations

import math

import numpy as np

from instruments.smu import KEITHLEY_2400_LIMITS, KEITHLEY_2420_LIMITS
from instruments.timing import MESSAGE_OVERHEAD_S, sdm_cycle_2400_s
from labctl.sim.scpi import (
    DATA_STALE,
    DATA_TYPE_ERROR,
    SETTINGS_CONFLICT,
    command,
    error,
    nr3,
    parse_bool,
    parse_choice,
    parse_number,
)
from labctl.sim.smu import Points, SmuEmulator

OVERFLOW = 9.91e37
ELEMENTS = ("VOLT", "CURR", "RES", "TIME", "STAT")
_ELEMENT_NAMES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR",
                  "RES": "RES", "RESISTANCE": "RES", "TIME": "TIME", "STAT": "STAT",
                  "STATUS": "STAT"}
_FUNCTION_NAMES = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "VOLT:DC": "VOLT", "VOLTAGE:DC": "VOLT",
                   "CURR": "CURR", "CURRENT": "CURR", "CURR:DC": "CURR", "CURRENT:DC": "CURR",
                   "RES": "RES", "RESISTANCE": "RES"}
_SOURCE_FUNCTIONS = {"VOLT": "VOLT", "VOLTAGE": "VOLT", "CURR": "CURR", "CURRENT": "CURR"}
_MODES = {"FIX": "FIX", "FIXED": "FIX", "SWE": "SWE", "SWEEP": "SWE", "LIST": "LIST"}

#: ``+803`` (docs/instruments.md §1.4, §1.9).
NOT_PERMITTED_OUTPUT_OFF = (803, "Not permitted with OUTPUT off")

#: Status word bits (manual p. 356; docs/instruments.md §1.5).
STATUS_OVERFLOW = 1 << 0
STATUS_FRONT_TERMINALS = 1 << 2
STATUS_COMPLIANCE = 1 << 3
STATUS_V_MEAS = 1 << 11
STATUS_I_MEAS = 1 << 12
STATUS_R_MEAS = 1 << 13
STATUS_V_SOURCE = 1 << 14
STATUS_I_SOURCE = 1 << 15
STATUS_REMOTE_SENSE = 1 << 22


class Keithley2400Emulator(SmuEmulator):
    """A Keithley 2400 on the simulated bench (GPIB, LF termination)."""

    model = "2400"
    # Beyond the limits (±210 V, ±1.05 A, above 21 V at most 105 mA): -222.
    limits = KEITHLEY_2400_LIMITS
    serial_number = "4126530"
    firmware = "C32   Oct  4 2010 14:20:11/A02  /S/K"
    #: GPIB transfer and parsing of one message [s]: point-by-point over GPIB is ~80
    #: readings/s at 0.01 PLC (docs/instruments.md §1.10).
    message_overhead_s = MESSAGE_OVERHEAD_S["2400"]

    def identity(self) -> str:
        return f"KEITHLEY INSTRUMENTS INC.,MODEL {self.model},{self.serial_number},{self.firmware}"

    # --- state ---------------------------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self.off_mode = "NORM"
        self.source_function = "VOLT"
        self.mode = {"VOLT": "FIX", "CURR": "FIX"}
        self.level = {"VOLT": 0.0, "CURR": 0.0}
        self.source_range = {"VOLT": 21.0, "CURR": 1.05e-4}
        self.source_range_auto = {"VOLT": True, "CURR": True}
        self.protection = {"CURR": 1.05e-4, "VOLT": 21.0}
        self.sense_range = {"CURR": 1.05e-4, "VOLT": 21.0, "RES": 2.1e5}
        self.sense_range_auto = {"CURR": True, "VOLT": True, "RES": True}
        self.sense_functions: list[str] = ["CURR"]
        self.concurrent = True
        self.nplc = 1.0
        self.auto_zero = True
        self.remote_sense = False
        self.source_delay_s = 0.001
        self.source_delay_auto = True
        self.auto_output_off = False
        self.form_elements = list(ELEMENTS)
        self.trigger_count = 1
        self.arm_count = 1
        self.trigger_delay_s = 0.0
        self.sweep = {"VOLT": {"STAR": 0.0, "STOP": 0.0, "STEP": 0.0},
                      "CURR": {"STAR": 0.0, "STOP": 0.0, "STEP": 0.0}}
        self.sweep_points = 2500
        self.sweep_spacing = "LIN"
        self.sweep_ranging = "BEST"
        self.sweep_direction = "UP"
        self.list_values: dict[str, list[float]] = {"VOLT": [0.0], "CURR": [0.0]}
        self.buffer: list[str] = []
        self.buffer_size = 100
        self.buffer_feed = "SENS"
        self.buffer_control = "NEV"
        self.last_groups: list[str] = []
        self.ovp_v = 210.0
        self.ttl_out = 15
        self.filter = {"STAT": False, "TCON": "REP", "COUN": 10}
        self.timestamp_origin_s = self.now_s()
        self.line_frequency_hz = self.bench.line_frequency_hz
        self.display_enabled = True
        self.measurement_condition = 0

    # --- helpers -------------------------------------------------------------------------
    def _sync_engine(self) -> None:
        """Tell the device wiring what the outputs do now."""
        function = self.source_function
        compliance = self.protection["CURR" if function == "VOLT" else "VOLT"]
        self.engine.configure(output_on=self.output_on, source_function=function,
                              level=self.level[function], compliance=compliance)

    def point_time_s(self) -> tuple[float, float]:
        """(settle, total) time of one source-delay-measure cycle: the 2400-family model of
        :func:`instruments.timing.sdm_cycle_2400_s` (manual pp. 115, 430-435) with the
        emulator's auto-zero, measured functions, source function and delays."""
        return sdm_cycle_2400_s(
            self.nplc, self.line_frequency_hz, auto_zero=self.auto_zero,
            functions=len(self.sense_functions),
            source_delay_s=None if self.source_delay_auto else self.source_delay_s,
            source_function=self.source_function, trigger_delay_s=self.trigger_delay_s,
        )

    def source_values(self, count: int) -> np.ndarray:
        function = self.source_function
        mode = self.mode[function]
        if mode == "FIX":
            return np.full(count, self.level[function])
        if mode == "LIST":
            values = np.asarray(self.list_values[function], dtype=float)
        else:
            sweep = self.sweep[function]
            points = self.sweep_points
            values = np.linspace(sweep["STAR"], sweep["STOP"], points)
            if self.sweep_direction == "DOWN":
                values = values[::-1]
        repeats = math.ceil(count / values.size)
        return np.tile(values, repeats)[:count]

    def format_groups(self, points: Points) -> list[str]:
        """One reply group per point, elements in the fixed order V, I, R, TIME, STATUS
        (§1.5): a measured element carries its reading, the sourced one (if not measured) the
        programmed value, any other the overflow value +9.91E+37 (manual p. 358)."""
        groups = []
        sense = set(self.sense_functions)
        source = self.source_function
        base_status = STATUS_V_SOURCE if source == "VOLT" else STATUS_I_SOURCE
        for function, bit in (("VOLT", STATUS_V_MEAS), ("CURR", STATUS_I_MEAS),
                              ("RES", STATUS_R_MEAS)):
            if function in sense:
                base_status |= bit
        if self.remote_sense:
            base_status |= STATUS_REMOTE_SENSE
        if self.terminals == "FRON":
            base_status |= STATUS_FRONT_TERMINALS
        for k in range(points.voltage_v.size):
            status = base_status
            if points.in_compliance[k]:
                status |= STATUS_COMPLIANCE
            element_value = {"VOLT": points.voltage_v[k], "CURR": points.current_a[k]}
            for function in ("VOLT", "CURR"):
                if function not in sense:
                    element_value[function] = (points.source_value[k] if function == source
                                               else OVERFLOW)
                elif not math.isfinite(element_value[function]):
                    status |= STATUS_OVERFLOW
            voltage_v, current_a = element_value["VOLT"], element_value["CURR"]
            if "RES" in sense and current_a != 0 and OVERFLOW not in (voltage_v, current_a):
                resistance_ohm = voltage_v / current_a
            else:
                resistance_ohm = OVERFLOW
            values = {"VOLT": voltage_v, "CURR": current_a, "RES": resistance_ohm,
                      "TIME": points.time_s[k] - self.timestamp_origin_s, "STAT": float(status)}
            groups.append(",".join(nr3(values[e]) for e in ELEMENTS if e in self.form_elements))
        return groups

    def acquire(self) -> list[str]:
        """Run the trigger model once (ARM x TRIG points); return the reply groups."""
        if not self.output_on and not self.auto_output_off:
            raise error(NOT_PERMITTED_OUTPUT_OFF)
        count = self.trigger_count * self.arm_count
        settle_s, point_s = self.point_time_s()
        if self.auto_output_off and not self.output_on:
            self.output_on = True
            switched_on = True
        else:
            switched_on = False
        function = self.source_function
        compliance = self.protection["CURR" if function == "VOLT" else "VOLT"]
        start_s = self.occupy(count * point_s)
        points = self.engine.measure_points(
            self.source_values(count), start_s=start_s, settle_s=settle_s, point_s=point_s,
            source_function=function, compliance=compliance)
        if switched_on:
            self.output_on = False
        # After the train the source returns to its fixed (bias) level.
        self.engine.output_on = self.output_on
        self.engine.level = self.level[function]
        self.measurement_condition = (1 << 14) if bool(points.in_compliance[-1]) else 0
        groups = self.format_groups(points)
        self.last_groups = groups
        if self.buffer_control == "NEXT" or self.mode[function] != "FIX":
            self.buffer = (self.buffer + groups)[: self.buffer_size]
        return groups

    # --- IEEE/system -----------------------------------------------------------------------
    # ⚠ Not in docs/instruments.md: :SYST:ERR:ALL?, :SYST:BEEP, :SYST:KEY, :SYST:CLE, :SYST:TIME:RES
    # (2400 manual commands, emulated as no-ops or minimal state).
    @command(":SYSTem:ERRor:ALL", query=True)
    def _syst_err_all(self, args: list[str]) -> str:
        replies = []
        while self.errors:
            replies.append(self.pop_error())
        return ",".join(replies) or self.no_error_reply

    @command(":SYSTem:PRESet")
    def _syst_pres(self, args: list[str]) -> None:
        self.reset()

    @command(":STATus:PRESet")
    @command(":STATus:QUEue:CLEar")
    @command(":TRIGger:CLEar")
    @command(":SYSTem:BEEPer[:IMMediate]")
    @command(":SYSTem:KEY")
    @command(":SYSTem:CLEar")
    def _noop(self, args: list[str]) -> None:
        return None

    @command(":SYSTem:TIME:RESet")
    def _time_reset(self, args: list[str]) -> None:
        self.timestamp_origin_s = self.now_s()

    @command(":SYSTem:LFRequency")
    def _lfr(self, args: list[str]) -> None:
        self.line_frequency_hz = float(parse_choice(args[0], {"50": "50", "60": "60"}))

    @command(":SYSTem:LFRequency", query=True)
    def _lfr_q(self, args: list[str]) -> str:
        return f"{self.line_frequency_hz:.0f}"

    @command(":SYSTem:LFRequency:AUTO")
    def _lfr_auto(self, args: list[str]) -> None:
        self.line_frequency_hz = self.bench.line_frequency_hz

    @command(":SYSTem:AZERo[:STATe]")
    def _azer(self, args: list[str]) -> None:
        token = args[0].strip().upper() if args else ""
        if token == "ONCE":
            self.occupy(3 * (self.nplc / self.line_frequency_hz + 185e-6))
            return
        self.auto_zero = parse_bool(token)

    @command(":SYSTem:AZERo[:STATe]", query=True)
    def _azer_q(self, args: list[str]) -> str:
        return "1" if self.auto_zero else "0"

    @command(":SYSTem:AZERo:CACHing[:STATe]")
    def _azer_cache(self, args: list[str]) -> None:
        parse_bool(args[0])

    @command(":SYSTem:RSENse")
    def _rsen(self, args: list[str]) -> None:
        self.remote_sense = parse_bool(args[0])

    @command(":SYSTem:RSENse", query=True)
    def _rsen_q(self, args: list[str]) -> str:
        return "1" if self.remote_sense else "0"

    @command(":SYSTem:MEP[:STATe]", query=True)
    def _mep(self, args: list[str]) -> str:
        return "1"

    @command(":DISPlay:ENABle")
    def _disp(self, args: list[str]) -> None:
        self.display_enabled = parse_bool(args[0])

    # --- output --------------------------------------------------------------------------
    @command(":OUTPut:SMODe")
    def _smod(self, args: list[str]) -> None:
        self.off_mode = parse_choice(args[0], {"HIMP": "HIMP", "NORM": "NORM", "NORMAL": "NORM",
                                               "ZERO": "ZERO", "GUAR": "GUAR",
                                               "GUARD": "GUAR"})

    @command(":OUTPut:SMODe", query=True)
    def _smod_q(self, args: list[str]) -> str:
        return self.off_mode

    @command("[:SOURce]:CLEar:AUTO")
    def _clear_auto(self, args: list[str]) -> None:
        self.auto_output_off = parse_bool(args[0])

    @command("[:SOURce]:CLEar:AUTO", query=True)
    def _clear_auto_q(self, args: list[str]) -> str:
        return "1" if self.auto_output_off else "0"

    @command("[:SOURce]:CLEar[:IMMediate]")  # ⚠ not in docs/instruments.md (manual: output off)
    def _clear(self, args: list[str]) -> None:
        self.engine.sync(self.start_time_s())
        self.output_on = False
        self._sync_engine()

    # --- source --------------------------------------------------------------------------
    @command("[:SOURce]:FUNCtion[:MODE]")
    def _sour_func(self, args: list[str]) -> None:
        function = parse_choice(args[0], _SOURCE_FUNCTIONS)
        if self.output_on and function != self.source_function:
            # "not changeable with output on" (§1.4); the error code is not given ⚠
            raise error(SETTINGS_CONFLICT)
        self.source_function = function
        self._sync_engine()

    @command("[:SOURce]:FUNCtion[:MODE]", query=True)
    def _sour_func_q(self, args: list[str]) -> str:
        return self.source_function

    def _level(self, function: str, args: list[str]) -> None:
        value = parse_number(args[0], default=0.0)
        self._check_level(function, value)
        if function == "VOLT":
            self._check_envelope(value, self.protection["CURR"])
        else:
            self._check_envelope(self.protection["VOLT"], value)
        self.engine.sync(self.start_time_s())
        self.level[function] = value
        if self.source_range_auto[function]:
            self.source_range[function] = max(abs(value), self.source_range[function])
        self._sync_engine()

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]")
    def _volt(self, args: list[str]) -> None:
        self._level("VOLT", args)

    @command("[:SOURce]:VOLTage[:LEVel][:IMMediate][:AMPLitude]", query=True)
    def _volt_q(self, args: list[str]) -> str:
        return nr3(self.level["VOLT"])

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]")
    def _curr(self, args: list[str]) -> None:
        self._level("CURR", args)

    @command("[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]", query=True)
    def _curr_q(self, args: list[str]) -> str:
        return nr3(self.level["CURR"])

    def _range(self, function: str, args: list[str]) -> None:
        limit = self.max_voltage_v if function == "VOLT" else self.max_current_a
        value = parse_number(args[0], minimum=-limit, maximum=limit, default=limit)
        self.source_range[function] = abs(value)
        self.source_range_auto[function] = False

    @command("[:SOURce]:VOLTage:RANGe")
    def _volt_rang(self, args: list[str]) -> None:
        self._range("VOLT", args)

    @command("[:SOURce]:CURRent:RANGe")
    def _curr_rang(self, args: list[str]) -> None:
        self._range("CURR", args)

    @command("[:SOURce]:VOLTage:RANGe", query=True)
    def _volt_rang_q(self, args: list[str]) -> str:
        return nr3(self.source_range["VOLT"])

    @command("[:SOURce]:CURRent:RANGe", query=True)
    def _curr_rang_q(self, args: list[str]) -> str:
        return nr3(self.source_range["CURR"])

    @command("[:SOURce]:VOLTage:RANGe:AUTO")
    def _volt_rang_auto(self, args: list[str]) -> None:
        self.source_range_auto["VOLT"] = parse_bool(args[0])

    @command("[:SOURce]:CURRent:RANGe:AUTO")
    def _curr_rang_auto(self, args: list[str]) -> None:
        self.source_range_auto["CURR"] = parse_bool(args[0])

    @command("[:SOURce]:VOLTage:RANGe:AUTO", query=True)
    def _volt_rang_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_range_auto["VOLT"] else "0"

    @command("[:SOURce]:CURRent:RANGe:AUTO", query=True)
    def _curr_rang_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_range_auto["CURR"] else "0"

    @command("[:SOURce]:VOLTage:PROTection[:LEVel]")
    def _ovp(self, args: list[str]) -> None:
        # §1.4: "discrete 20/40/60... V steps"; the steps above 60 V follow the manual ⚠
        value = parse_number(args[0], minimum=-1e9, maximum=1e9)
        steps = [20, 40, 60, 80, 100, 120, 160, 210]
        self.ovp_v = next((float(s) for s in steps if abs(value) <= s), 210.0)

    @command("[:SOURce]:VOLTage:PROTection[:LEVel]", query=True)
    def _ovp_q(self, args: list[str]) -> str:
        return nr3(self.ovp_v)

    @command("[:SOURce]:VOLTage:MODE")
    def _volt_mode(self, args: list[str]) -> None:
        self.mode["VOLT"] = parse_choice(args[0], _MODES)

    @command("[:SOURce]:CURRent:MODE")
    def _curr_mode(self, args: list[str]) -> None:
        self.mode["CURR"] = parse_choice(args[0], _MODES)

    @command("[:SOURce]:VOLTage:MODE", query=True)
    def _volt_mode_q(self, args: list[str]) -> str:
        return self.mode["VOLT"]

    @command("[:SOURce]:CURRent:MODE", query=True)
    def _curr_mode_q(self, args: list[str]) -> str:
        return self.mode["CURR"]

    @command("[:SOURce]:DELay")
    def _delay(self, args: list[str]) -> None:
        self.source_delay_s = parse_number(args[0], minimum=0.0,
                                           maximum=self.limits.max_source_delay_s, default=0.0)
        self.source_delay_auto = False

    @command("[:SOURce]:DELay", query=True)
    def _delay_q(self, args: list[str]) -> str:
        return nr3(self.source_delay_s)

    @command("[:SOURce]:DELay:AUTO")
    def _delay_auto(self, args: list[str]) -> None:
        self.source_delay_auto = parse_bool(args[0])
        if self.source_delay_auto:
            self.source_delay_s = 0.001

    @command("[:SOURce]:DELay:AUTO", query=True)
    def _delay_auto_q(self, args: list[str]) -> str:
        return "1" if self.source_delay_auto else "0"

    # sweeps
    def _sweep_value(self, function: str, key: str, args: list[str]) -> None:
        value = parse_number(args[0])
        sweep = self.sweep[function]
        if key == "STEP":
            # A step that does not lie between start and stop: -221, nothing changes (§1.6).
            span = sweep["STOP"] - sweep["STAR"]
            if value == 0 or abs(value) > abs(span) or (span != 0 and value * span < 0):
                raise error(SETTINGS_CONFLICT)
            sweep["STEP"] = value
            self.sweep_points = int(round(abs(span / value))) + 1
        else:
            self._check_level(function, value)
            sweep[key] = value
            self._update_step(function)

    def _update_step(self, function: str) -> None:
        sweep = self.sweep[function]
        if self.sweep_points > 1:
            sweep["STEP"] = (sweep["STOP"] - sweep["STAR"]) / (self.sweep_points - 1)

    @command("[:SOURce]:VOLTage:STARt")
    def _v_start(self, args: list[str]) -> None:
        self._sweep_value("VOLT", "STAR", args)

    @command("[:SOURce]:VOLTage:STOP")
    def _v_stop(self, args: list[str]) -> None:
        self._sweep_value("VOLT", "STOP", args)

    @command("[:SOURce]:VOLTage:STEP")
    def _v_step(self, args: list[str]) -> None:
        self._sweep_value("VOLT", "STEP", args)

    @command("[:SOURce]:CURRent:STARt")
    def _i_start(self, args: list[str]) -> None:
        self._sweep_value("CURR", "STAR", args)

    @command("[:SOURce]:CURRent:STOP")
    def _i_stop(self, args: list[str]) -> None:
        self._sweep_value("CURR", "STOP", args)

    @command("[:SOURce]:CURRent:STEP")
    def _i_step(self, args: list[str]) -> None:
        self._sweep_value("CURR", "STEP", args)

    @command("[:SOURce]:VOLTage:STARt", query=True)
    def _v_start_q(self, args: list[str]) -> str:
        return nr3(self.sweep["VOLT"]["STAR"])

    @command("[:SOURce]:VOLTage:STOP", query=True)
    def _v_stop_q(self, args: list[str]) -> str:
        return nr3(self.sweep["VOLT"]["STOP"])

    @command("[:SOURce]:VOLTage:STEP", query=True)
    def _v_step_q(self, args: list[str]) -> str:
        return nr3(self.sweep["VOLT"]["STEP"])

    @command("[:SOURce]:SWEep:POINts")
    def _swe_poin(self, args: list[str]) -> None:
        self.sweep_points = int(parse_number(args[0], minimum=2, maximum=2500))  # §1.6
        self._update_step("VOLT")
        self._update_step("CURR")

    @command("[:SOURce]:SWEep:POINts", query=True)
    def _swe_poin_q(self, args: list[str]) -> str:
        return str(self.sweep_points)

    @command("[:SOURce]:SWEep:SPACing")
    def _swe_spac(self, args: list[str]) -> None:
        self.sweep_spacing = parse_choice(args[0], {"LIN": "LIN", "LINEAR": "LIN",
                                                    "LOG": "LOG", "LOGARITHMIC": "LOG"})
        if self.sweep_spacing == "LOG":
            # ⚠ The real 2400 accepts LOG; the emulator does not sweep logarithmically and says
            # so with -221 rather than fake it.
            self.sweep_spacing = "LIN"
            raise error(SETTINGS_CONFLICT)

    @command("[:SOURce]:SWEep:RANGing")
    def _swe_rang(self, args: list[str]) -> None:
        self.sweep_ranging = parse_choice(args[0], {"BEST": "BEST", "AUTO": "AUTO",
                                                    "FIX": "FIX", "FIXED": "FIX"})

    @command("[:SOURce]:SWEep:DIRection")
    def _swe_dir(self, args: list[str]) -> None:
        self.sweep_direction = parse_choice(args[0], {"UP": "UP", "DOWN": "DOWN"})

    @command("[:SOURce]:SWEep:CABort")
    def _swe_cab(self, args: list[str]) -> None:
        parse_choice(args[0], {"NEV": "NEV", "NEVER": "NEV", "EARL": "EARL", "EARLY": "EARL",
                               "LATE": "LATE"})

    # lists (SmuEmulator._list)
    @command("[:SOURce]:LIST:VOLTage")
    def _list_volt(self, args: list[str]) -> None:
        self._list("VOLT", args, append=False)

    @command("[:SOURce]:LIST:VOLTage:APPend")
    def _list_volt_app(self, args: list[str]) -> None:
        self._list("VOLT", args, append=True)

    @command("[:SOURce]:LIST:VOLTage:POINts", query=True)
    def _list_volt_poin(self, args: list[str]) -> str:
        return str(len(self.list_values["VOLT"]))

    @command("[:SOURce]:LIST:CURRent")
    def _list_curr(self, args: list[str]) -> None:
        self._list("CURR", args, append=False)

    @command("[:SOURce]:LIST:CURRent:APPend")
    def _list_curr_app(self, args: list[str]) -> None:
        self._list("CURR", args, append=True)

    @command(":SOURce2:TTL[:LEVel][:DEFault]")
    def _ttl(self, args: list[str]) -> None:
        self.ttl_out = int(parse_number(args[0], minimum=0, maximum=15))

    @command(":SOURce2:TTL:ACTual", query=True)
    def _ttl_q(self, args: list[str]) -> str:
        return str(self.ttl_out)

    # --- sense ---------------------------------------------------------------------------
    def _set_functions(self, args: list[str], *, on: bool) -> None:
        functions = [parse_choice(a, _FUNCTION_NAMES) for a in args]
        if on:
            if not self.concurrent:
                self.sense_functions = functions[-1:]
                return
            for function in functions:
                if function not in self.sense_functions:
                    self.sense_functions.append(function)
        else:
            self.sense_functions = [f for f in self.sense_functions if f not in functions]

    @command(":SENSe:FUNCtion[:ON]")
    def _sens_func(self, args: list[str]) -> None:
        self._set_functions(args, on=True)

    @command(":SENSe:FUNCtion[:ON]", query=True)
    def _sens_func_q(self, args: list[str]) -> str:
        names = {"VOLT": '"VOLT:DC"', "CURR": '"CURR:DC"', "RES": '"RES"'}
        return ",".join(names[f] for f in self.sense_functions) or '""'

    @command(":SENSe:FUNCtion:OFF")  # ⚠ :SENS:FUNC:OFF[:ALL] are not in docs/instruments.md
    def _sens_func_off(self, args: list[str]) -> None:
        self._set_functions(args, on=False)

    @command(":SENSe:FUNCtion[:ON]:ALL")
    def _sens_func_all(self, args: list[str]) -> None:
        self.sense_functions = ["VOLT", "CURR", "RES"]

    @command(":SENSe:FUNCtion:OFF:ALL")
    def _sens_func_off_all(self, args: list[str]) -> None:
        self.sense_functions = []

    @command(":SENSe:FUNCtion:CONCurrent")
    def _sens_conc(self, args: list[str]) -> None:
        self.concurrent = parse_bool(args[0])
        if not self.concurrent:
            self.sense_functions = self.sense_functions[:1]

    @command(":SENSe:FUNCtion:CONCurrent", query=True)
    def _sens_conc_q(self, args: list[str]) -> str:
        return "1" if self.concurrent else "0"

    def _nplc(self, args: list[str]) -> None:
        self.nplc = parse_number(args[0], minimum=0.01, maximum=10.0, default=1.0)

    @command(":SENSe:CURRent[:DC]:NPLCycles")
    @command(":SENSe:VOLTage[:DC]:NPLCycles")
    @command(":SENSe:RESistance:NPLCycles")
    def _sens_nplc(self, args: list[str]) -> None:
        self._nplc(args)

    @command(":SENSe:CURRent[:DC]:NPLCycles", query=True)
    @command(":SENSe:VOLTage[:DC]:NPLCycles", query=True)
    @command(":SENSe:RESistance:NPLCycles", query=True)
    def _sens_nplc_q(self, args: list[str]) -> str:
        return nr3(self.nplc)

    def _protection(self, function: str, args: list[str]) -> None:
        if function == "CURR":
            value = parse_number(args[0], minimum=-self.max_current_a,
                                 maximum=self.max_current_a, default=1.05e-4)
            if self.source_function == "VOLT":
                self._check_envelope(self.level["VOLT"], value)
        else:
            value = parse_number(args[0], minimum=-self.max_voltage_v,
                                 maximum=self.max_voltage_v, default=21.0)
        self.engine.sync(self.start_time_s())
        self.protection[function] = abs(value)
        self._sync_engine()

    @command(":SENSe:CURRent[:DC]:PROTection[:LEVel]")
    def _prot_curr(self, args: list[str]) -> None:
        self._protection("CURR", args)

    @command(":SENSe:VOLTage[:DC]:PROTection[:LEVel]")
    def _prot_volt(self, args: list[str]) -> None:
        self._protection("VOLT", args)

    @command(":SENSe:CURRent[:DC]:PROTection[:LEVel]", query=True)
    def _prot_curr_q(self, args: list[str]) -> str:
        return nr3(self.protection["CURR"])

    @command(":SENSe:VOLTage[:DC]:PROTection[:LEVel]", query=True)
    def _prot_volt_q(self, args: list[str]) -> str:
        return nr3(self.protection["VOLT"])

    # ⚠ Not in docs/instruments.md (2400 manual): the tripped query of the current compliance.
    @command(":SENSe:CURRent[:DC]:PROTection:TRIPped", query=True)
    def _prot_curr_trip(self, args: list[str]) -> str:
        return "1" if self.measurement_condition & (1 << 14) else "0"

    @command(":SENSe:CURRent[:DC]:PROTection:RSYNchronize")
    @command(":SENSe:VOLTage[:DC]:PROTection:RSYNchronize")
    def _rsyn(self, args: list[str]) -> None:
        parse_bool(args[0])

    def _sense_range(self, function: str, args: list[str]) -> None:
        limit = {"CURR": self.max_current_a, "VOLT": self.max_voltage_v, "RES": 2.1e8}[function]
        value = parse_number(args[0], minimum=-limit, maximum=limit, default=limit)
        self.sense_range[function] = abs(value)
        self.sense_range_auto[function] = False

    @command(":SENSe:CURRent[:DC]:RANGe[:UPPer]")
    def _sens_curr_rang(self, args: list[str]) -> None:
        self._sense_range("CURR", args)

    @command(":SENSe:VOLTage[:DC]:RANGe[:UPPer]")
    def _sens_volt_rang(self, args: list[str]) -> None:
        self._sense_range("VOLT", args)

    @command(":SENSe:RESistance:RANGe[:UPPer]")
    def _sens_res_rang(self, args: list[str]) -> None:
        self._sense_range("RES", args)

    @command(":SENSe:CURRent[:DC]:RANGe[:UPPer]", query=True)
    def _sens_curr_rang_q(self, args: list[str]) -> str:
        return nr3(self.sense_range["CURR"])

    @command(":SENSe:VOLTage[:DC]:RANGe[:UPPer]", query=True)
    def _sens_volt_rang_q(self, args: list[str]) -> str:
        return nr3(self.sense_range["VOLT"])

    @command(":SENSe:CURRent[:DC]:RANGe:AUTO")
    def _sens_curr_auto(self, args: list[str]) -> None:
        self.sense_range_auto["CURR"] = parse_bool(args[0])

    @command(":SENSe:VOLTage[:DC]:RANGe:AUTO")
    def _sens_volt_auto(self, args: list[str]) -> None:
        self.sense_range_auto["VOLT"] = parse_bool(args[0])

    @command(":SENSe:RESistance:RANGe:AUTO")
    def _sens_res_auto(self, args: list[str]) -> None:
        self.sense_range_auto["RES"] = parse_bool(args[0])

    @command(":SENSe:CURRent[:DC]:RANGe:AUTO", query=True)
    def _sens_curr_auto_q(self, args: list[str]) -> str:
        return "1" if self.sense_range_auto["CURR"] else "0"

    @command(":SENSe:VOLTage[:DC]:RANGe:AUTO", query=True)
    def _sens_volt_auto_q(self, args: list[str]) -> str:
        return "1" if self.sense_range_auto["VOLT"] else "0"

    @command(":SENSe:RESistance:MODE")
    def _res_mode(self, args: list[str]) -> None:
        parse_choice(args[0], {"MAN": "MAN", "MANUAL": "MAN", "AUTO": "AUTO"})

    @command(":SENSe:AVERage[:STATe]")
    def _aver(self, args: list[str]) -> None:
        self.filter["STAT"] = parse_bool(args[0])

    @command(":SENSe:AVERage[:STATe]", query=True)
    def _aver_q(self, args: list[str]) -> str:
        return "1" if self.filter["STAT"] else "0"

    @command(":SENSe:AVERage:TCONtrol")
    def _aver_tcon(self, args: list[str]) -> None:
        self.filter["TCON"] = parse_choice(args[0], {"REP": "REP", "REPEAT": "REP",
                                                     "MOV": "MOV", "MOVING": "MOV"})

    @command(":SENSe:AVERage:COUNt")
    def _aver_coun(self, args: list[str]) -> None:
        self.filter["COUN"] = int(parse_number(args[0], minimum=1, maximum=100))

    # --- format --------------------------------------------------------------------------
    @command(":FORMat:ELEMents[:SENSe[1]]")
    def _form_elem(self, args: list[str]) -> None:
        elements = [parse_choice(a, _ELEMENT_NAMES) for a in args]
        if not elements:
            raise error(DATA_TYPE_ERROR)
        self.form_elements = [e for e in ELEMENTS if e in elements]

    @command(":FORMat:ELEMents[:SENSe[1]]", query=True)
    def _form_elem_q(self, args: list[str]) -> str:
        return ",".join(self.form_elements)

    @command(":FORMat[:DATA]")
    def _form_data(self, args: list[str]) -> None:
        if parse_choice(args[0], {"ASC": "ASC", "ASCII": "ASC", "SRE": "SRE", "REAL": "REAL"}) \
                != "ASC":
            # ⚠ The real 2400 accepts SRE/REAL (§1.5); binary transfer is not emulated, and the
            # emulator says so with -221 rather than send ASCII the driver would misread.
            raise error(SETTINGS_CONFLICT)

    # --- trigger -------------------------------------------------------------------------
    @command(":TRIGger:COUNt")
    def _trig_coun(self, args: list[str]) -> None:
        count = int(parse_number(args[0], minimum=1, maximum=2500, default=1))
        # ARM:COUN x TRIG:COUN <= 2500 (§1.6); the error code is not given ⚠
        if count * self.arm_count > 2500:
            raise error(SETTINGS_CONFLICT)
        self.trigger_count = count

    @command(":TRIGger:COUNt", query=True)
    def _trig_coun_q(self, args: list[str]) -> str:
        return str(self.trigger_count)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:COUNt")
    def _arm_coun(self, args: list[str]) -> None:
        count = int(parse_number(args[0], minimum=1, maximum=2500, default=1))
        if count * self.trigger_count > 2500:
            raise error(SETTINGS_CONFLICT)
        self.arm_count = count

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:COUNt", query=True)
    def _arm_coun_q(self, args: list[str]) -> str:
        return str(self.arm_count)

    @command(":TRIGger:DELay")
    def _trig_del(self, args: list[str]) -> None:
        self.trigger_delay_s = parse_number(args[0], minimum=0.0, maximum=999.9999, default=0.0)

    @command(":TRIGger:DELay", query=True)
    def _trig_del_q(self, args: list[str]) -> str:
        return nr3(self.trigger_delay_s)

    @command(":TRIGger:SOURce")
    def _trig_sour(self, args: list[str]) -> None:
        parse_choice(args[0], {"IMM": "IMM", "IMMEDIATE": "IMM", "TLIN": "TLIN",
                               "TLINK": "TLIN"})  # trigger layer: IMM|TLIN only (§1.8)

    @command(":ARM[:SEQuence[1]][:LAYer[1]]:SOURce")
    def _arm_sour(self, args: list[str]) -> None:
        # §1.8 lists IMM|TIM|MAN|BUS|TLIN; NST/PST/BST (the manual's other arm events) ⚠
        parse_choice(args[0], {"IMM": "IMM", "IMMEDIATE": "IMM", "TLIN": "TLIN",
                               "TLINK": "TLIN", "TIM": "TIM", "TIMER": "TIM", "MAN": "MAN",
                               "MANUAL": "MAN", "BUS": "BUS", "NST": "NST", "PST": "PST",
                               "BST": "BST"})

    @command(":ABORt")
    def _abort(self, args: list[str]) -> None:
        return None

    @command(":INITiate[:IMMediate]")
    def _init(self, args: list[str]) -> None:
        self.acquire()

    # --- readings ------------------------------------------------------------------------
    @command(":READ", query=True)
    def _read(self, args: list[str]) -> str:
        return ",".join(self.acquire())

    @command(":FETCh", query=True)
    def _fetch(self, args: list[str]) -> str:
        if not self.last_groups:
            raise error(DATA_STALE)  # ⚠ the error of :FETC? with no reading is not in §1
        return ",".join(self.last_groups)

    @command(":MEASure[:CURRent[:DC]]", query=True)
    @command(":MEASure:VOLTage[:DC]", query=True)
    @command(":MEASure:RESistance", query=True)
    def _meas(self, args: list[str]) -> str:
        # :MEAS? = :CONF + :READ? ; with the output off it switches on for the reading.
        # ⚠ The :CONF part (selecting the function of the header) is not emulated, and what
        # :MEAS? does with the output off is not in docs/instruments.md.
        if not self.output_on:
            self.auto_output_off, saved = True, self.auto_output_off
            try:
                return ",".join(self.acquire())
            finally:
                self.auto_output_off = saved
        return ",".join(self.acquire())

    @command(":TRACe:DATA", query=True)
    def _trac_data(self, args: list[str]) -> str:
        return ",".join(self.buffer)

    @command(":TRACe:CLEar")
    def _trac_cle(self, args: list[str]) -> None:
        self.buffer = []

    @command(":TRACe:POINts")
    def _trac_poin(self, args: list[str]) -> None:
        self.buffer_size = int(parse_number(args[0], minimum=1, maximum=2500))

    @command(":TRACe:POINts", query=True)
    def _trac_poin_q(self, args: list[str]) -> str:
        return str(self.buffer_size)

    @command(":TRACe:POINts:ACTual", query=True)
    def _trac_act(self, args: list[str]) -> str:
        return str(len(self.buffer))

    @command(":TRACe:FEED")
    def _trac_feed(self, args: list[str]) -> None:
        self.buffer_feed = parse_choice(args[0], {"SENS": "SENS", "SENS1": "SENS",
                                                  "CALC1": "CALC1", "CALC2": "CALC2"})

    @command(":TRACe:FEED:CONTrol")
    def _trac_feed_cont(self, args: list[str]) -> None:
        self.buffer_control = parse_choice(args[0], {"NEXT": "NEXT", "NEV": "NEV",
                                                     "NEVER": "NEV"})

    # --- status --------------------------------------------------------------------------
    @command(":STATus:MEASurement[:EVENt]", query=True)
    @command(":STATus:MEASurement:CONDition", query=True)
    def _stat_meas(self, args: list[str]) -> str:
        return str(self.measurement_condition)

    @command(":STATus:OPERation[:EVENt]", query=True)
    @command(":STATus:QUEStionable[:EVENt]", query=True)
    def _stat_other(self, args: list[str]) -> str:
        return "0"

    @command(":STATus:MEASurement:ENABle")
    def _stat_meas_enab(self, args: list[str]) -> None:
        parse_number(args[0], minimum=0, maximum=65535)

    @command("*SRE")
    @command("*ESE")  # ⚠ *ESE is not in docs/instruments.md
    def _sre(self, args: list[str]) -> None:
        parse_number(args[0], minimum=0, maximum=255)


class Keithley2420Emulator(Keithley2400Emulator):
    """A Keithley 2420: 2400-series SCPI with ±63 V, ±3.15 A (3 A range ≤ 21 V)."""

    model = "2420"
    limits = KEITHLEY_2420_LIMITS
    serial_number = "1234567"
