"""The suite's clock (tests/clock.py): what a test sets is what the code reads, and a
process a test starts reads the same time as the test, also when the run's clock is
moved (`--clock-ahead`)."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Any

from django.utils import timezone

from tests.clock import SHANGHAI, holiday_a_year_ahead
from tests.conftest import local


def test_a_child_process_reads_the_same_time_as_the_test() -> None:
    before = timezone.now()
    done = subprocess.run([sys.executable, "-c", "import time; print(time.time())"],
                          capture_output=True, text=True, timeout=60, check=True)
    child = datetime.fromtimestamp(float(done.stdout), tz=SHANGHAI)
    after = timezone.now()
    assert before <= child <= after, (before, child, after)


def test_a_time_set_by_a_test_is_what_django_reads(time_machine: Any) -> None:
    time_machine.move_to(local(2026, 10, 1, 9, 0), tick=False)
    assert timezone.localdate() == local(2026, 10, 1).date()


def test_the_moved_clock_lands_on_national_day_more_than_a_year_ahead() -> None:
    assert holiday_a_year_ahead(local(2026, 12, 7, 12, 0)) == local(2028, 10, 2, 10, 0)
    assert holiday_a_year_ahead(local(2027, 10, 1, 9, 0)) == local(2028, 10, 2, 10, 0)
    assert holiday_a_year_ahead(local(2027, 10, 2, 11, 0)) == local(2029, 10, 2, 10, 0)
