"""Speed of the simulated bench: SCPI round trips and a 141-point hardware sweep.

Run: python benchmarks/bench_sim.py

Prints, side by side in one run:
- a round trip through the @labsim backend (``*OPC?`` and a physics-backed ``:READ?``) against
  the same-size round trip of a static plain pyvisa-sim dialogue (the baseline: the cheapest
  thing pyvisa-sim can do);
- labctl's driver reading (``SmuReading``) per call;
- a 141-point hardware J-V sweep (2400, NPLC 1, 10 ms source delay) in real and virtual time;
- a 141-point 2450 built-in sweep polled with ``:TRIG:STAT?`` in virtual time.
- a 2400 buffer (1000 readings, NPLC 0.01; pymeasure caps its buffer at 1024) filled and
  read through pymeasure's own ``Keithley2400`` driver (``config_buffer``, ``start_buffer``,
  ``wait_for_buffer``, ``buffer_data``), in virtual time, with the real time it took.
Target (issue "Foundation"): <= 0.2 ms per SCPI round trip.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyvisa
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labctl.opened_station import open_station  # noqa: E402
from labctl.sim.bench import forget_benches  # noqa: E402

STATION = {
    "station": "bench-benchmark",
    "simulated": True,
    "instruments": {"smu": {"driver": "keithley2400", "resource": "GPIB0::24::INSTR"}},
    "simulation": {"device": {"kind": "solar_cell"}},
}
TARGET_MS = 0.2


def per_call_ms(func: Callable[[], object], calls: int, repeats: int = 5) -> float:
    """Median over ``repeats`` of the mean time per call [ms]."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            func()
        samples.append((time.perf_counter() - start) / calls * 1e3)
    return statistics.median(samples)


def bench_2450_trig_stat_polling(points: int = 141, poll_s: float = 0.05,
                                  repeats: int = 5) -> None:
    """A 2450 built-in sweep started with ``:INIT`` and polled with ``:TRIG:STAT?`` every
    ``poll_s`` of virtual time until it is no longer RUNNING, then read with ``:TRAC:DATA?``;
    prints the real time it takes against the virtual time the sweep lasts."""
    forget_benches()
    station = {"station": "bench-2450", "simulated": True,
               "instruments": {"smu": {"driver": "keithley2450",
                                       "resource": "USB0::0x05E6::0x2450::04412345::INSTR"}},
               "simulation": {"device": {"kind": "solar_cell"}}}
    with tempfile.TemporaryDirectory() as folder:
        station_path = Path(folder) / "station.yaml"
        station_path.write_text(yaml.safe_dump(station))
        rm = pyvisa.ResourceManager(f"{station_path}@labsim")
        clock = rm.visalib.bench.clock
        smu = rm.open_resource("USB0::0x05E6::0x2450::04412345::INSTR", read_termination="\n",
                               write_termination="\n", timeout=60000)
        smu.write(":SOUR:VOLT:ILIM 0.05;:SENS:CURR:NPLC 1;:SOUR:VOLT:DEL 0.01;:OUTP ON")
        runs = []
        for _ in range(repeats):
            smu.write(f':SOUR:SWE:VOLT:LIN 1.3,-0.1,{points},0,1,BEST,OFF,OFF,"defbuffer1"')
            smu.write(':TRAC:CLE "defbuffer1"')
            virtual_start_s = clock.now_s()
            start = time.perf_counter()
            smu.write(":INIT")
            polls = 0
            while smu.query(":TRIG:STAT?").startswith("RUNNING"):
                clock.sleep(poll_s)
                polls += 1
            data = smu.query(f':TRAC:DATA? 1,{points},"defbuffer1",SOUR,READ')
            runs.append((time.perf_counter() - start, clock.now_s() - virtual_start_s, polls))
            assert len(data.split(",")) == 2 * points
    forget_benches()
    real_ms = statistics.median(r[0] for r in runs) * 1e3
    virtual_s, polls = runs[0][1], runs[0][2]
    print(f"{points}-point 2450 sweep polled with :TRIG:STAT? every {poll_s * 1e3:.0f} ms "
          f"({polls} polls): {real_ms:.2f} ms real for {virtual_s:.3f} s of virtual time "
          f"({virtual_s / (real_ms / 1e3):.0f}x faster than the instrument)")
def bench_2400_buffer_pymeasure(points: int = 1000) -> None:
    """Fill a 2400's buffer and read it through pymeasure's Keithley2400; print the times."""
    from pymeasure.adapters import VISAAdapter
    from pymeasure.instruments.keithley import Keithley2400
    from pymeasure.instruments.keithley import buffer as pymeasure_buffer

    forget_benches()
    with tempfile.TemporaryDirectory() as folder:
        station_path = Path(folder) / "station.yaml"
        station_path.write_text(yaml.safe_dump(STATION))
        rm = pyvisa.ResourceManager(f"{station_path}@labsim")
        clock = rm.visalib.bench.clock
        # pymeasure polls the status byte with time.sleep: on the virtual clock here
        saved = pymeasure_buffer.sleep, pymeasure_buffer.time
        pymeasure_buffer.sleep, pymeasure_buffer.time = clock.sleep, clock.now_s
        try:
            adapter = VISAAdapter("GPIB0::24::INSTR", visa_library=rm.visalib,
                                  read_termination="\n", write_termination="\n",
                                  timeout=60000)
            smu = Keithley2400(adapter)
            smu.write(":SOUR:VOLT 0.5;:SENS:CURR:PROT 0.05;:SENS:CURR:NPLC 0.01;:OUTP ON")
            smu.config_buffer(points)
            virtual_start_s, real_start = clock.now_s(), time.perf_counter()
            smu.start_buffer()
            smu.wait_for_buffer(timeout=600)
            data = smu.buffer_data
            real_s = time.perf_counter() - real_start
            virtual_s = clock.now_s() - virtual_start_s
            adapter.close()
        finally:
            pymeasure_buffer.sleep, pymeasure_buffer.time = saved
    forget_benches()
    assert data.size == points * 5
    print(f"2400 buffer through pymeasure ({points} readings, NPLC 0.01): "
          f"{real_s * 1e3:.1f} ms real for {virtual_s:.3f} s of virtual time "
          f"({virtual_s / real_s:.0f}x faster than the instrument)")


def main() -> int:
    forget_benches()
    with tempfile.TemporaryDirectory() as folder:
        station_path = Path(folder) / "station.yaml"
        station_path.write_text(yaml.safe_dump(STATION))

        rm = pyvisa.ResourceManager(f"{station_path}@labsim")
        smu = rm.open_resource("GPIB0::24::INSTR", read_termination="\n",
                               write_termination="\n", timeout=60000)
        smu.write(":SOUR:VOLT 0.9;:SENS:CURR:PROT 0.05;:OUTP ON")
        read_reply = smu.query(":READ?")
        opc_ms = per_call_ms(lambda: smu.query("*OPC?"), 2000)
        read_ms = per_call_ms(lambda: smu.query(":READ?"), 2000)

        baseline_file = Path(folder) / "baseline.yaml"
        baseline_file.write_text(yaml.safe_dump({
            "spec": "1.1",
            "devices": {"static": {
                "eom": {"GPIB INSTR": {"q": "\n", "r": "\n"}},
                "dialogues": [{"q": "*OPC?", "r": "1"}, {"q": ":READ?", "r": read_reply}]}},
            "resources": {"GPIB0::5::INSTR": {"device": "static"}}}))
        base = pyvisa.ResourceManager(f"{baseline_file}@sim").open_resource(
            "GPIB0::5::INSTR", read_termination="\n", write_termination="\n")
        base_opc_ms = per_call_ms(lambda: base.query("*OPC?"), 2000)
        base_read_ms = per_call_ms(lambda: base.query(":READ?"), 2000)

        with open_station(station_path, simulated=True) as station:
            driver = station.instruments["smu"]
            driver.configure_voltage_source(level_v=0.9, compliance_a=0.05)
            driver.enable_output()
            driver_ms = per_call_ms(driver.read, 1000)
            clock = station.bench.clock
            sweeps = []
            for _ in range(20):
                virtual_start_s = clock.now_s()
                start = time.perf_counter()
                result = driver.sweep_voltage_linear(1.3, -0.1, 141, source_delay_s=0.01,
                                                     compliance_a=0.05, nplc=1.0)
                sweeps.append((time.perf_counter() - start, clock.now_s() - virtual_start_s))
            assert len(result) == 141
    forget_benches()

    sweep_real_ms = statistics.median(s[0] for s in sweeps) * 1e3
    sweep_virtual_s = sweeps[0][1]
    print("SCPI round trip through PyVISA [ms per query]      labctl @labsim   pyvisa-sim static")
    print(f"  *OPC? (1-byte reply)                             "
          f"{opc_ms:10.4f}   {base_opc_ms:10.4f}")
    print(f"  :READ? ({len(read_reply)}-byte reply, physics in labctl)    "
          f"{read_ms:10.4f}   {base_read_ms:10.4f}")
    print(f"labctl driver read() -> SmuReading [ms]            {driver_ms:10.4f}")
    print(f"141-point hardware sweep (2400, NPLC 1, 10 ms delay): {sweep_real_ms:.2f} ms real "
          f"for {sweep_virtual_s:.3f} s of virtual time "
          f"({sweep_virtual_s / (sweep_real_ms / 1e3):.0f}x faster than the instrument)")
    bench_2450_trig_stat_polling()
    bench_2400_buffer_pymeasure()
    met = max(opc_ms, read_ms) <= TARGET_MS
    print(f"target <= {TARGET_MS} ms per round trip: {'MET' if met else 'NOT MET'} "
          f"(worst {max(opc_ms, read_ms):.4f} ms)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
