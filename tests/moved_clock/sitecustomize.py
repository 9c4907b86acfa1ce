"""Loaded by every Python process started during a moved-clock test run (tests/clock.py
puts this folder on PYTHONPATH): the process reads the run's moved time, ticking."""

import os
import time

offset = os.environ.get("TIAOCHU_CLOCK_OFFSET")
if offset:
    import time_machine

    time_machine.travel(time.time() + float(offset), tick=True).start()
