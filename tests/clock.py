"""The suite's clock, moved on request: `pytest --clock-ahead` (or `--clock-at ISO`).

A test that needs "now" sets it (the time_machine fixture, or a service's `at=`). To show
that none forgot, CI runs the suite a second time with every clock moved: this process's
through time-machine, and every Python process a test starts (servers, sweepers, commands)
through tests/moved_clock/sitecustomize.py, which the moved run puts on PYTHONPATH with
the offset in TIAOCHU_CLOCK_OFFSET. All of them then read the same moved time, ticking.
Monotonic clocks are left alone, so timeouts and event loops behave as usual.

`--clock-ahead` moves to 2 October 10:00 Beijing time (国庆节, a public holiday and a rest
day) of the first year at least 366 days away: more than a year ahead, on a holiday,
whatever day the suite runs.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFSET_VARIABLE = "TIAOCHU_CLOCK_OFFSET"
SITE_DIR = Path(__file__).resolve().parent / "moved_clock"


def holiday_a_year_ahead(now: datetime) -> datetime:
    year = now.year
    while (moment := datetime(year, 10, 2, 10, 0, tzinfo=SHANGHAI)) - now < timedelta(days=366):
        year += 1
    return moment


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("clock")
    group.addoption("--clock-ahead", action="store_true",
                    help="move every clock to a public holiday more than a year ahead")
    group.addoption("--clock-at", metavar="ISO-8601",
                    help="move every clock to this moment (with a UTC offset), then let it tick")


def moved_to(config: Any) -> datetime | None:
    at = config.getoption("--clock-at")
    if at:
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise pytest.UsageError("--clock-at needs a UTC offset, e.g. 2028-10-02T10:00+08:00")
        return moment
    if config.getoption("--clock-ahead"):
        return holiday_a_year_ahead(datetime.now(SHANGHAI))
    return None


def pytest_configure(config: Any) -> None:
    moment = moved_to(config)
    if moment is None:
        return
    offset = moment.timestamp() - datetime.now(SHANGHAI).timestamp()
    traveller = time_machine.travel(moment, tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)
    os.environ[OFFSET_VARIABLE] = repr(offset)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SITE_DIR), os.environ.get("PYTHONPATH")]))


def pytest_report_header(config: Any) -> str | None:
    moment = moved_to(config)
    return None if moment is None else f"clock moved to {moment.isoformat()} (ticking)"
