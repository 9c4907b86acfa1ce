"""Paths to a case's pages for lists of hundreds of rows. {% url %} resolves the pattern
anew for every row (a tenth of a millisecond each, several per row: a fifth of the
meeting's time over a million cases); here it is resolved once per pattern and script
prefix, and the id put in its place."""

from __future__ import annotations

from functools import lru_cache

from django.urls import get_script_prefix, reverse

# An id no case has, standing in for the row's own in the resolved pattern.
STAND_IN = 987654321987


@lru_cache(maxsize=64)
def _pattern(name: str, prefix: str, *args: str) -> str:
    return reverse(name, args=[STAND_IN, *args])


def case_path(case_id: int) -> str:
    return _pattern("desk:case:detail", get_script_prefix()).replace(str(STAND_IN), str(int(case_id)), 1)


def operation_form_path(case_id: int, name: str) -> str:
    return _pattern("desk:case:operation_form", get_script_prefix(), name).replace(str(STAND_IN), str(int(case_id)), 1)
