"""python manage.py verify_audit [--chunk N] — a stable command (docs/interfaces.md): exits non-zero and names the
first bad row if the audit trail was altered."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cases.audit import Tally, verify


class Command(BaseCommand):
    help = "Check every case's hash-chained audit trail; name the first bad row of each altered case."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk", type=int, default=1000, help="cases read per round trip (default 1000)")

    def handle(self, *args: Any, chunk: int, **options: Any) -> None:
        if chunk < 1:
            raise CommandError("--chunk must be at least 1")
        tally = Tally()
        first, altered = None, 0
        for breach in verify(chunk=chunk, tally=tally):
            first, altered = first or breach, altered + 1
            self.stderr.write(f"BAD {breach}")
        if first is not None:
            raise CommandError(f"audit trail altered in {altered} of {tally.cases} cases; first bad row: {first}")
        self.stdout.write(f"audit trail intact: {tally.cases} cases, {tally.events} events")
