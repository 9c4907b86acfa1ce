"""Records of who saw parties' personal information in full (个人信息保护法 第五十一条:
operating permissions set for personal information, and what is done with it kept
traceable)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from .models import Case, PersonalDataAccess


def record(user: Any, case: Case, door: str) -> PersonalDataAccess:
    """Note that `user` was shown the full ID numbers and phones of `case`'s parties
    through `door` (PersonalDataAccess.Door), now."""
    return PersonalDataAccess.objects.create(user=user, case=case, at=timezone.now(), door=door)
