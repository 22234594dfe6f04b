"""Maximum-power-point trackers: pure state machines that see only SMU readings.

A tracker is driven by a loop (``procedures/mpp.py`` on the bench, ``benchmarks/bench_mpp.py``
on a simulated cell): it asks for a set-point and a wait, is given the reading taken after the
wait, and answers with the next command. It never touches an instrument or a clock, so the same
tracker runs on the bench, in a benchmark and in a test (:mod:`labctl.mpp.tracker`).
"""
