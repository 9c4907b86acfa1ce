"""Rebuild what the database's triggers keep from the cases and their clocks — the rollup
of the counts (workflow.tally) and each case's running clocks' earliest times
(workflow.running) — or with --check say whether they equal a recount. For a database
loaded with its triggers off (a bulk load in SQL, a restore); the triggers keep them
otherwise."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from workflow import running, tally


class Command(BaseCommand):
    help = "Rebuild the rollup of the counts and the cases' running clocks (--check: compare only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="only compare the rollup with a recount")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        if check:
            differences = tally.differences()
            if differences:
                raise CommandError(f"the rollup differs from a recount in {len(differences)} rows")
            cases = running.differences()
            if cases:
                raise CommandError(f"the running clocks of {len(cases)} cases differ from their clocks")
            self.stdout.write("the rollup and the running clocks equal a recount")
            return
        rows = tally.recount()
        cases = running.recount()
        self.stdout.write(f"the rollup is rebuilt: {rows} rows; the running clocks of {cases} cases are set")
