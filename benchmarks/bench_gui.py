"""Event-loop latency of ``labctl gui`` while an MPP-like run of 10^5 rows streams in.

Run: python benchmarks/bench_gui.py [--rows N] [--chunk ROWS] [--period-ms MS]

The window is opened on the simulated example station (offscreen unless a display is set);
a producer thread then feeds the window's event queue the documents of one MPP-like
measurement -- ``measurement_start`` with the MPP columns (power density and PCE against
time), then N ``row`` documents, ``chunk`` rows every ``period-ms`` (default: 10^5 rows, 100
every 10 ms: 10,000 rows/s, faster than the simulated bench's MPP produces them; ``--chunk
500 --period-ms 5`` is a 100,000 rows/s flood). A 10 ms QTimer measures
the event loop's latency: how late each tick runs. Printed side by side in one run:

- the idle window (baseline);
- the window with labctl's decimated curves (a bounded buffer: 4096 points per curve);
- the same with an unbounded buffer (every point kept and redrawn: what a plot that holds
  the whole run costs).

Target (issue 11): the worst tick under 50 ms with the decimated curves.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from labctl.gui.app import open_window  # noqa: E402
from labctl.gui.qt import QtCore, application  # noqa: E402
from labctl.gui.session import GuiEvent, Session  # noqa: E402
from labctl.gui.window import MainWindow  # noqa: E402

COLUMNS = ["Voltage (V)", "Current (A)", "Current density (mA/cm**2)", "Time (s)",
           "Irradiance (mW/cm**2)", "Power density (mW/cm**2)", "PCE (percent)"]
STATION = ROOT / "configs" / "stations" / "simulated.yaml"


def produce(session: Session, rows: int, chunk: int, period_s: float, done: threading.Event
            ) -> None:
    """The documents of one MPP-like measurement, as the session's runner thread emits them."""
    put = session._events.put
    put(GuiEvent(1, "measurement_start", {"label": "mpp", "columns": COLUMNS,
                                          "path": "s00_mpp.csv", "parameters": {}}))
    for start in range(0, rows, chunk):
        for i in range(start, min(rows, start + chunk)):
            t_s = 10.0 * i
            power = 18.0 * (1.0 - 0.1 * i / rows) + 0.05 * ((i * 7919) % 13 - 6)
            put(GuiEvent(1, "row", {"row": {
                "Voltage (V)": 0.98, "Current (A)": -1.7e-3,
                "Current density (mA/cm**2)": power / 0.98, "Time (s)": t_s,
                "Irradiance (mW/cm**2)": 100.0, "Power density (mW/cm**2)": power,
                "PCE (percent)": power}}))
        time.sleep(period_s)
    done.set()


def measure(window: MainWindow, seconds: float | None, done: threading.Event | None
            ) -> list[float]:
    """How late (ms) each 10 ms tick ran, until ``done`` (and the queue drained) or for
    ``seconds``."""
    loop = QtCore.QEventLoop()  # not app.exec(): Qt 6's quit() closes the windows
    lateness_ms: list[float] = []
    last = [time.perf_counter()]
    start = last[0]

    def tick() -> None:
        now = time.perf_counter()
        lateness_ms.append(max(0.0, (now - last[0]) * 1000.0 - 10.0))
        last[0] = now
        finished = (done.is_set() and window.session._events.empty()) if done else \
            now - start >= (seconds or 0)
        if finished:
            loop.quit()

    timer = QtCore.QTimer()
    timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
    timer.timeout.connect(tick)
    timer.start(10)
    loop.exec()
    timer.stop()
    return lateness_ms


def run_case(window: MainWindow, rows: int, chunk: int, period_s: float) -> tuple[list[float],
                                                                                   float, int]:
    window.plot.clear()
    window._plot_job = None
    window._curve_of_job.clear()
    window._jobs[1] = type("J", (), {"label": "bench"})()
    done = threading.Event()
    producer = threading.Thread(target=produce, args=(window.session, rows, chunk, period_s,
                                                      done), daemon=True)
    started = time.perf_counter()
    producer.start()
    lateness = measure(window, None, done)
    producer.join()
    window.poll()
    held = sum(len(c.buffer) for c in window.plot.curves.values())
    return lateness, time.perf_counter() - started, held


def summary(name: str, lateness: list[float], wall_s: float | None = None,
            held: int | None = None) -> str:
    ordered = sorted(lateness)
    p99 = ordered[int(0.99 * (len(ordered) - 1))]
    extra = f", {wall_s:5.1f} s, {held} points held" if wall_s is not None else ""
    return (f"  {name:<34} ticks {len(lateness):5d}  median {statistics.median(lateness):6.1f}"
            f" ms  p99 {p99:6.1f} ms  max {max(lateness):6.1f} ms{extra}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--period-ms", type=float, default=10.0)
    args = parser.parse_args()
    application()
    with tempfile.TemporaryDirectory() as tmp:
        window = open_window(STATION, simulated=True, out_dir=Path(tmp))  # as labctl gui
        window.show()
        try:
            print(f"labctl gui event-loop latency, {args.rows} MPP rows, {args.chunk} every "
                  f"{args.period_ms:g} ms ({os.environ.get('QT_QPA_PLATFORM') or 'display'}):")
            print(summary("idle window (baseline)", measure(window, 2.0, None)))
            lateness, wall_s, held = run_case(window, args.rows, args.chunk,
                                              args.period_ms / 1000)
            print(summary("decimated curves (labctl)", lateness, wall_s, held))
            window.plot.capacity = 1 << 24
            lateness_all, wall_all_s, held_all = run_case(window, args.rows, args.chunk,
                                                          args.period_ms / 1000)
            print(summary("every point kept and redrawn", lateness_all, wall_all_s, held_all))
            p99 = sorted(lateness)[int(0.99 * (len(lateness) - 1))]
            print(f"target: worst tick < 50 ms with decimated curves: "
                  f"{'met' if max(lateness) < 50.0 else 'NOT met'} (p99 < 50 ms: "
                  f"{'met' if p99 < 50.0 else 'NOT met'})")
        finally:
            window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
