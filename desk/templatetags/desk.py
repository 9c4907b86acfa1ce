from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def person(user: Any) -> str:
    """A user as people know them: full name, else username; a dash for nobody."""
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()
