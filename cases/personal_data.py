"""Records of who saw parties' personal information in full (个人信息保护法 第五十一条:
operating permissions set for personal information, and what is done with it kept
traceable), and what of it may be shown to whom.

A party's date of birth is part of the ID number (GB 11643-1999, cases.validators.id_facts):
it is shown whenever the ID number is shown in full, and otherwise only as an age in years,
which says what a case needs (a minor, an elderly party) and not who the person is."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from .models import Case, Party, PersonalDataAccess


def record(user: Any, case: Case, door: str) -> PersonalDataAccess:
    """Note that `user` was shown the full ID numbers and phones of `case`'s parties
    through `door` (PersonalDataAccess.Door), now."""
    return PersonalDataAccess.objects.create(user=user, case=case, at=timezone.now(), door=door)


def age(born: date, on: date) -> int:
    """Full years from `born` to `on`."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def birth_shown(party: Party, *, full: bool, on: date | None = None) -> tuple[date | None, int | None]:
    """(date of birth, age on `on`, today by default) as they may be shown of `party`:
    the date only where its ID number is shown in full (`full`), the age wherever the
    date is known; (None, None) where it is not."""
    if party.birth_date is None:
        return None, None
    return (party.birth_date if full else None), age(party.birth_date, on or timezone.localdate())
