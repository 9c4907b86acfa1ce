from __future__ import annotations

from typing import Any

from django import template

from desk.operation_frames import frame_id

register = template.Library()


@register.filter
def person(user: Any) -> str:
    """A user as people know them: full name, else username; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


@register.simple_tag
def operation_frame_id(case_id: int, name: str) -> str:
    return frame_id(case_id, name)
