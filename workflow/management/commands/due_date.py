"""Show the due date the engine computes for a term, so an operator can check a deadline
against the official calendar (docs/workflow.md: Deadlines) without opening a case."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from workflow.calendar import get_calendar
from workflow.models import RuleProfile, TimeUnit


def parse_start(value: str, tz: ZoneInfo) -> datetime:
    """An ISO date (the start of that day, local time) or datetime (local if no offset)."""
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"START must be an ISO date or datetime, not {value!r}") from None
    return start if timezone.is_aware(start) else start.replace(tzinfo=tz)


def format_moment(moment: datetime) -> str:
    text = moment.isoformat(sep=" ", timespec="seconds")
    return f"{text[:19]} {text[19:]}"


class Command(BaseCommand):
    help = "Print when a term of N units started at START ends, on the official calendar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("start", metavar="START", help="ISO date or datetime; a date means 00:00 local")
        parser.add_argument("n", metavar="N", type=int, help="length of the term")
        parser.add_argument("--unit", required=True, choices=TimeUnit.values)
        # Profiles change a rule's numbers, not how days are counted; accepted so an
        # operator can paste a rule's context, and checked so a typo is not silent.
        parser.add_argument("--profile", help="deadline profile code (validated only)")
        parser.add_argument(
            "--no-shift",
            action="store_true",
            help="do not move a calendar-day term ending on a holiday to the next working day",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tz = ZoneInfo(settings.TIME_ZONE)
        start = parse_start(options["start"], tz)
        n: int = options["n"]
        if n < 0:
            raise CommandError(f"N must not be negative, got {n}")
        profile = options["profile"]
        if profile and not RuleProfile.objects.filter(code=profile).exists():
            raise CommandError(f"unknown profile {profile!r}")

        calendar = get_calendar()
        due = calendar.add(start, n, options["unit"], holiday_shift=not options["no_shift"])
        at = timezone.localtime(due.at, tz)
        line = format_moment(at)
        if due.provisional:
            first_counted = timezone.localtime(start, tz).date() + timedelta(days=1)
            unknown = [
                str(year)
                for year in range(first_counted.year, at.year + 1)
                if not calendar.is_known(date(year, 1, 1))
            ] or [str(at.year)]
            line += f" (provisional: {', '.join(unknown)} holidays not entered)"
        self.stdout.write(line)
