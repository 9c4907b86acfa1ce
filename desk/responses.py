from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from workflow.errors import CaseOperationError, InvalidData


def form_id(text: str | None) -> int | None:
    """A record's id as a form sends it: ASCII digits only. str.isdigit() also takes "²"
    and other digits int() refuses, which would end in a server error."""
    text = text or ""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 19 else None


def carried_out(form: forms.Form, act: Callable[[], Any]) -> Any:
    """Call a service (`act`) for a valid form; what it refuses goes onto the form, where
    the person reads it: a field's errors beside the field, a refusal above the form. The
    service's result, or None when it refused (nothing was written)."""
    try:
        return act()
    except InvalidData as problem:
        for field, errors in problem.errors.items():
            form.add_error(field if field in form.fields else None, errors)
    except CaseOperationError as refusal:
        form.add_error(None, refusal.message)
    return None


def back(request: HttpRequest, default: str, *args: Any) -> HttpResponse:
    """Redirect to the form's `next` when it is a path on this site, else to `default`.
    Never through redirect(): it takes a `next` without a slash for the name of a view."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return HttpResponseRedirect(target)
    return redirect(default, *args)


def only_for(allowed: Callable[[Any], bool]) -> Callable[[Any], Any]:
    """A page for some roles only (the board, the administration entry): others are
    refused, as the menu does not offer it to them."""

    def decorate(view: Any) -> Any:
        @wraps(view)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return checked

    return decorate
