"""The PyVISA backend of the simulated bench: ``pyvisa.ResourceManager("STATION.yaml@labsim")``.

It extends pyvisa-sim's library: the sessions, resource names, terminations and timeouts are
pyvisa-sim's; the devices are the bench's emulators (and any plain pyvisa-sim YAML devices the
station names under ``simulation.pyvisa_sim``). Every read and write holds the bench lock, and a
read waits on the bench clock until the instrument has finished its operation, so a sweep or a
wheel move takes its time on the virtual timeline. A read that would wait longer than the
session's VISA timeout fails with a timeout, as on the real bus.

The text before ``@labsim`` names the bench: a station file, nothing (the default station), or
a spec returned by :func:`labctl.sim.bench.register_bench` for a StationConfig built in memory
(``pyvisa.ResourceManager(f"{register_bench(config)}@labsim")``).
"""

from __future__ import annotations

from typing import Any

from pyvisa import constants, errors
from pyvisa.util import LibraryPath
from pyvisa_sim.highlevel import SimVisaLibrary

from labctl.sim.bench import Bench, bench_for


class LabsimVisaLibrary(SimVisaLibrary):
    """pyvisa-sim library whose devices are the simulated bench of a station file."""

    bench: Bench

    @staticmethod
    def get_library_paths() -> tuple[LibraryPath, ...]:
        return (LibraryPath("unset"),)

    @staticmethod
    def get_debug_info() -> dict[str, str]:
        from labctl import __version__

        return {"Backend": "labctl simulated bench", "labctl": __version__}

    def _init(self) -> None:
        self.sessions: dict[int, Any] = {}
        self.bench = bench_for(str(self.library_path))
        self.devices = self.bench.devices

    def read(self, session: Any, count: int) -> tuple[bytes, constants.StatusCode]:
        sess = self.sessions.get(session)
        device = getattr(sess, "device", None)
        busy_until_s = getattr(device, "busy_until_s", None)
        if busy_until_s is not None:
            clock = self.bench.clock
            wait_s = busy_until_s - clock.now_s()
            if wait_s > 0:
                timeout_ms, _ = sess.get_attribute(constants.ResourceAttribute.timeout_value)
                if timeout_ms is not None and wait_s * 1000.0 > timeout_ms:
                    clock.sleep(timeout_ms / 1000.0)
                    raise errors.VisaIOError(constants.VI_ERROR_TMO)
                clock.sleep_until(busy_until_s)
        with self.bench.lock:
            nothing_to_read = device is not None and not device._output_buffers
            if not (nothing_to_read and self.bench.clock.is_virtual):
                return super().read(session, count)
        # No reply will ever come (a query the instrument did not answer): the read times out.
        # On the virtual clock that costs virtual time only, not a real busy wait.
        timeout_ms, _ = sess.get_attribute(constants.ResourceAttribute.timeout_value)
        self.bench.clock.sleep((timeout_ms or 0) / 1000.0)
        raise errors.VisaIOError(constants.VI_ERROR_TMO)

    def write(self, session: Any, data: bytes) -> tuple[int, constants.StatusCode]:
        with self.bench.lock:
            return super().write(session, data)

    def clear(self, session: Any) -> constants.StatusCode:
        """Device clear: drop pending input and output, as viClear does."""
        sess = self.sessions.get(session)
        device = getattr(sess, "device", None)
        if device is None:
            return constants.StatusCode.error_invalid_object
        with self.bench.lock:
            device._output_buffers.clear()
            device._input_buffer = bytearray()
        return constants.StatusCode.success

    def flush(self, session: Any, mask: Any) -> constants.StatusCode:
        return self.clear(session)
