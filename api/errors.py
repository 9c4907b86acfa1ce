"""Every API error as JSON with a code and a clear message; nothing is changed when one
is returned (the service raises before anything is written, inside its transaction)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from workflow.errors import CaseOperationError, InvalidData, WrongStage


def case_error_response(error: CaseOperationError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if isinstance(error, InvalidData):
        body["errors"] = error.errors
    if isinstance(error, WrongStage):
        body["stage"] = error.details["stage"]
    return Response(body, status=error.status)


def flattened(detail: Any, name: str = "") -> dict[str, list[str]]:
    """DRF's nested errors of a request's shape named as the business rules name theirs
    (workflow.services.report_case): one level, items counted from 1, as in
    {"parties[1].id_number": [...], "on_the_spot.outcome": [...]}. A message about a
    nested object or list as a whole goes under its name, one about the whole body under
    "__all__", as a form's does."""
    if isinstance(detail, dict):
        found: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                found.update(flattened(value, f"{name}[{int(key) + 1}]"))
            elif key == NON_FIELD_ERRORS and name:
                # A list's or an object's own message (too many parties) is the field's.
                found.update(flattened(value, name))
            else:
                found.update(flattened(value, f"{name}.{key}" if name else str(key)))
        return found
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        found = {}
        for i, item in enumerate(detail, start=1):
            found.update(flattened(item, f"{name}[{i}]"))
        return found
    messages = [str(message) for message in (detail if isinstance(detail, list) else [detail])]
    return {name or NON_FIELD_ERRORS: messages} if messages else {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, CaseOperationError):
        return case_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    if isinstance(exc, RequestDataTooBig):
        # Django refuses a body past DATA_UPLOAD_MAX_MEMORY_SIZE when it is first read;
        # left to Django, the answer would be its HTML 400 page.
        return Response({"code": "too_large", "message": _("The request body is too large.")},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"code": "invalid", "message": _("The data is not valid."), "errors": flattened(response.data)}
    elif isinstance(exc, exceptions.APIException):
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"code": exc.get_codes() if isinstance(exc.get_codes(), str) else "error",
                         "message": str(detail)}
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" not in response:
        response["Retry-After"] = "60"
    return response
