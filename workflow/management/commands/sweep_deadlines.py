"""python manage.py sweep_deadlines [--now ISO-8601] [--loop SECONDS]"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone

from workflow.sweep import sweep


def parse_moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--now must be an ISO-8601 date and time, not {value!r}") from None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    return moment


class Command(BaseCommand):
    help = "Raise yellow and red cards and escalations for deadlines whose time has come."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="sweep as if it were this moment (local time unless an offset is given)")
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="sweep again every SECONDS until stopped")

    def handle(self, *args: Any, **options: Any) -> None:
        now = parse_moment(options["now"]) if options["now"] else None
        interval = options["loop"]
        if interval is not None and interval <= 0:
            raise CommandError("--loop needs a positive number of seconds")
        while True:
            moment = now or timezone.now()
            stamp = timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M:%S")
            if interval is None:
                self.stdout.write(f"{stamp} sweep: {sweep(moment)}")
                return
            try:
                self.stdout.write(f"{stamp} sweep: {sweep(moment)}")
            except Exception as exc:
                # A looping sweeper outlives a database restart or a lost race: what this
                # batch did not commit, the next tick (or another sweeper) takes.
                self.stderr.write(f"{stamp} sweep failed, trying again in {interval} s: {exc!r}")
            close_old_connections()  # a long-lived loop must not hold a broken connection
            time.sleep(interval)
