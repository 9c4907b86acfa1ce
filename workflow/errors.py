"""Why an operation on a case was refused. Each error names the problem in words a user
reads (zh-hans first) and carries the HTTP status the pages and the API answer with."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class CaseOperationError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UnknownOperation(CaseOperationError):
    status = 400
    code = "unknown_operation"

    def __init__(self, name: str) -> None:
        super().__init__(_("There is no operation called “%(name)s” on a case.") % {"name": name}, name=name)


class CaseNotFound(CaseOperationError):
    """Also the answer for a case the actor may not see: its existence is not confirmed."""

    status = 404
    code = "not_found"

    def __init__(self) -> None:
        super().__init__(_("No such case."))


class WrongStage(CaseOperationError):
    status = 409
    code = "wrong_stage"

    def __init__(self, label: str, stage: str, stage_label: str) -> None:
        super().__init__(
            _("“%(operation)s” is not possible while the case is “%(stage)s”.")
            % {"operation": label, "stage": stage_label},
            stage=stage,
        )


class ConditionUnmet(CaseOperationError):
    status = 409
    code = "condition_unmet"


class NotPermitted(CaseOperationError):
    status = 403
    code = "forbidden"

    def __init__(self, label: str, message: str | None = None) -> None:
        super().__init__(message or _("You may not “%(operation)s” on this case.") % {"operation": label})


class InvalidData(CaseOperationError):
    status = 400
    code = "invalid"

    def __init__(self, errors: dict[str, list[str]], labels: dict[str, str] | None = None) -> None:
        # `errors` is keyed by field name for programs; the message names fields as users know them.
        labels = labels or {}
        fields = "; ".join(f"{labels.get(field, field)}: {' '.join(messages)}" for field, messages in errors.items())
        super().__init__(_("The data is not valid — %(fields)s") % {"fields": fields}, errors=errors, labels=labels)
        self.errors = errors
