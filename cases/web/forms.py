from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from viewflow.contrib.auth import AuthenticationForm

from ..login_throttle import record_failure, throttled


class LoginForm(AuthenticationForm):
    """viewflow's login form, throttled like the API's token login."""

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if throttled(username, address):
            raise forms.ValidationError(_("Too many failed logins; try again later."), code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            record_failure(username, address)
            raise
