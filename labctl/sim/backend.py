"""The PyVISA backend of the simulated bench: ``pyvisa.ResourceManager("STATION.yaml@labsim")``.

It extends pyvisa-sim's library: the sessions, resource names, terminations and timeouts are
pyvisa-sim's; the devices are the bench's emulators (and any plain pyvisa-sim YAML devices the
station names under ``simulation.pyvisa_sim``). Every read and write holds the bench lock, and a
read waits on the bench clock until the instrument has finished its operation, so a sweep or a
wheel move takes its time on the virtual timeline.

A read ends as viRead does (VPP-4.3 §6.1, the rules pyvisa-sim's own read applies): at the END
indicator (the last byte of a reply; on a serial port only the termination character or the
last bit, per ``VI_ATTR_ASRL_END_IN``), at the termination character when it is enabled, or
after ``count`` bytes. A read that cannot end that way -- no reply at all (an unknown query:
the instrument queued -113 and sent nothing), or a reply without the read terminator (the
prompt of a serial terminal) -- times out at the session's VISA timeout, counted from the start
of the read, **on the bench clock**: on the virtual clock it costs virtual time only, never a
real busy wait. The bytes that did come stay in the instrument's output buffer, as they stay in
a serial port's receive buffer, so a later read (``read_bytes``) still gets them.

The text before ``@labsim`` names the bench: a station file, nothing (the default station), or
a spec returned by :func:`labctl.sim.bench.register_bench` for a StationConfig built in memory
(``pyvisa.ResourceManager(f"{register_bench(config)}@labsim")``).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from pyvisa import constants, errors
from pyvisa.util import LibraryPath
from pyvisa_sim.highlevel import SimVisaLibrary

from labctl.sim.bench import Bench, bench_for

_Attr = constants.ResourceAttribute
#: VI_TMO_INFINITE: a read that never ends would hang the bench; it times out at once instead.
_INFINITE_TIMEOUT_MS = 0xFFFFFFFF
#: Poll period of a read waiting for a reply on a real-time bench clock [s].
_REAL_TIME_POLL_S = 0.01
#: How long after a read's deadline a ``slow`` instrument's reply comes [s].
SLOW_REPLY_LATE_S = 1.0


def _timeout_s(sess: Any) -> float:
    """The session's VISA timeout in seconds (0 for an infinite one, see above)."""
    timeout_ms, _ = sess.get_attribute(_Attr.timeout_value)
    if timeout_ms is None or timeout_ms >= _INFINITE_TIMEOUT_MS:
        return 0.0
    return max(0.0, float(timeout_ms) / 1000.0)


def read_end(sess: Any, buffers: deque[bytearray], count: int
             ) -> tuple[int, constants.StatusCode] | None:
    """Bytes a viRead of ``count`` takes from ``buffers`` and its status, or None if the
    bytes there cannot end the read (it would wait for more).

    The read ends at the first byte that is the END indicator (status success), the enabled
    termination character (success_termination_character_read) or the ``count``-th byte
    (success_max_count_read); on one byte that is several, that order decides. Each reply is
    searched with ``bytes.find``, not byte by byte."""
    termchar = sess.get_attribute(_Attr.termchar)[0]
    termchar_enabled = bool(sess.get_attribute(_Attr.termchar_enabled)[0])
    suppress_end = bool(sess.get_attribute(_Attr.suppress_end_enabled)[0])
    is_asrl = sess.get_attribute(_Attr.interface_type)[0] == constants.InterfaceType.asrl
    end_in = last_bit_mask = None
    if is_asrl:
        end_in = sess.get_attribute(_Attr.asrl_end_in)[0]
        data_bits = sess.get_attribute(_Attr.asrl_data_bits)[0] or 8
        last_bit_mask = 1 << (data_bits - 1)
    taken = 0
    for buffer in buffers:
        size = len(buffer)
        at, status = size, None  # the first byte that ends the read, in this buffer
        if not suppress_end:
            end = _end_index(buffer, is_asrl, end_in, termchar, last_bit_mask)
            if 0 <= end < at:
                at, status = end, constants.StatusCode.success
        if termchar_enabled and termchar is not None:
            found = buffer.find(termchar, 0, at)  # before the END byte: END wins on a tie
            if found >= 0:
                at, status = found, constants.StatusCode.success_termination_character_read
        if count > taken and count - taken - 1 < at:
            at, status = count - taken - 1, constants.StatusCode.success_max_count_read
        if status is not None:
            return taken + at + 1, status
        taken += size
    return None


def _end_index(buffer: bytearray, is_asrl: bool, end_in: Any, termchar: int | None,
               last_bit_mask: int | None) -> int:
    """Index of the first byte of ``buffer`` carrying the END indicator, -1 if none: the
    last byte of a reply (GPIB EOI, USBTMC EOM); on a serial port the termination character
    or a byte with the last data bit set, per ``VI_ATTR_ASRL_END_IN``."""
    if not is_asrl:
        return len(buffer) - 1
    if end_in == constants.SerialTermination.termination_char:
        return buffer.find(termchar) if termchar is not None else -1
    if end_in == constants.SerialTermination.last_bit and last_bit_mask:
        return next((i for i, byte in enumerate(buffer) if byte & last_bit_mask), -1)
    return -1


def take_bytes(buffers: deque[bytearray], length: int) -> bytes:
    """Remove the first ``length`` bytes from ``buffers`` (emptied buffers are dropped)."""
    out = bytearray()
    while len(out) < length and buffers:
        head = buffers[0]
        chunk = head[: length - len(out)]
        out += chunk
        del head[: len(chunk)]
        if not head:
            buffers.popleft()
    return bytes(out)


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
        if device is None:
            return b"", constants.StatusCode.error_invalid_object
        clock = self.bench.clock
        timeout_s = _timeout_s(sess)
        deadline_s = clock.now_s() + timeout_s
        self._slow_reply(device, deadline_s)
        busy_until_s = getattr(device, "busy_until_s", None)
        if busy_until_s is not None and busy_until_s > clock.now_s():
            if busy_until_s > deadline_s:
                # The instrument is still busy at the deadline: nothing comes in time.
                clock.sleep_until(deadline_s)
                raise errors.VisaIOError(constants.VI_ERROR_TMO)
            clock.sleep_until(busy_until_s)
        while True:
            with self.bench.lock:
                ended = read_end(sess, device._output_buffers, count)
                if ended is not None:
                    return take_bytes(device._output_buffers, ended[0]), ended[1]
            if clock.is_virtual or clock.now_s() >= deadline_s:
                break
            # A real-time bench: another thread may still write to the instrument.
            clock.sleep(min(_REAL_TIME_POLL_S, deadline_s - clock.now_s()))
        # No reply, or one without the read terminator: the read times out at the VISA
        # timeout, on the bench clock; what did come stays in the buffer.
        clock.sleep_until(deadline_s)
        raise errors.VisaIOError(constants.VI_ERROR_TMO)

    def _slow_reply(self, device: Any, deadline_s: float) -> None:
        """Start the faults due; under a ``slow`` fault the reply this read waits for comes
        :data:`SLOW_REPLY_LATE_S` after its deadline (:mod:`labctl.sim.faults`)."""
        with self.bench.lock:
            self.bench.faults.poll()
            if getattr(device, "fault", None) != "slow":
                return
            if device._output_buffers or device.busy_until_s > self.bench.clock.now_s():
                device.busy_until_s = max(device.busy_until_s, deadline_s + SLOW_REPLY_LATE_S)
                device.spend_fault()

    def open(self, session: Any, resource_name: str, *args: Any, **kwargs: Any) -> Any:
        """viOpen; an instrument with the ``dead`` fault is not found on the bus."""
        self.bench.faults.poll()
        opened, status = super().open(session, resource_name, *args, **kwargs)
        sess = self.sessions.get(opened)
        if getattr(getattr(sess, "device", None), "fault", None) == "dead":
            del self.sessions[opened]
            raise errors.VisaIOError(constants.VI_ERROR_RSRC_NFOUND)
        return opened, status

    def write(self, session: Any, data: bytes) -> tuple[int, constants.StatusCode]:
        with self.bench.lock:
            return super().write(session, data)

    def clear(self, session: Any) -> constants.StatusCode:
        """Device clear, as viClear sends it (SDC on GPIB, INITIATE_CLEAR on USBTMC): the
        device's own ``device_clear()`` when it has one (the 2400 aborts an ``:INIT`` and
        what it held, 2400 manual p. 11-13), else pending input and output are dropped."""
        sess = self.sessions.get(session)
        device = getattr(sess, "device", None)
        if device is None:
            return constants.StatusCode.error_invalid_object
        if getattr(device, "fault", None) == "dead":
            raise errors.VisaIOError(constants.VI_ERROR_IO)
        with self.bench.lock:
            device_clear = getattr(device, "device_clear", None)
            if callable(device_clear):
                device_clear()
            else:
                device._output_buffers.clear()
                device._input_buffer = bytearray()
        return constants.StatusCode.success

    def flush(self, session: Any, mask: Any) -> constants.StatusCode:
        """viFlush discards the buffers (what the device sent, what it has not parsed); unlike
        viClear it sends nothing to the device, so a running ``:INIT`` goes on."""
        sess = self.sessions.get(session)
        device = getattr(sess, "device", None)
        if device is None:
            return constants.StatusCode.error_invalid_object
        with self.bench.lock:
            device._output_buffers.clear()
            device._input_buffer = bytearray()
        return constants.StatusCode.success
