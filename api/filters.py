"""What a list accepts in its query: its filters, its ordering and its pages, and nothing
else. A misspelt parameter or ordering used to be ignored, so a client asking for
`?stag=closed` or `?ordering=-reported` got the whole list in the default order and took
it for the answer; both are a 400 now, naming the parameter."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend, OrderingFilter
from rest_framework.request import Request


def known_parameters(view: Any) -> set[str]:
    """The query parameters the list of `view` reads: as its schema documents them."""
    known: set[str] = set()
    for backend in getattr(view, "filter_backends", ()):
        if issubclass(backend, DjangoFilterBackend):
            filterset = getattr(view, "filterset_class", None)
            known |= set(filterset.base_filters) if filterset is not None else set()
        elif issubclass(backend, OrderingFilter):
            known.add(backend.ordering_param)
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        known |= {parameter["name"] for parameter in paginator.get_schema_operation_parameters(view)}
    return known


def refuse_unknown_parameters(request: Request, view: Any) -> None:
    unknown = sorted(set(request.query_params) - known_parameters(view))
    if unknown:
        raise ValidationError({name: [_("This list has no query parameter of this name; it reads: %(known)s.")
                                      % {"known": ", ".join(sorted(known_parameters(view))) or "—"}]
                               for name in unknown})


class KnownParameters(BaseFilterBackend):
    """Refuses a list's query parameters that none of its filters, ordering or pages read."""

    def filter_queryset(self, request: Request, queryset: Any, view: Any) -> Any:
        refuse_unknown_parameters(request, view)
        return queryset


class StrictOrdering(OrderingFilter):
    """`ordering`: one or more of the view's ordering_fields, comma-separated, each with
    a leading "-" for descending; anything else is refused rather than dropped."""

    def choices(self, view: Any) -> list[str]:
        fields = [name for name in getattr(view, "ordering_fields", None) or ()]
        return [option for name in fields for option in (name, f"-{name}")]

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        text = request.query_params.get(self.ordering_param)
        if text is None:
            return self.get_default_ordering(view)
        terms = [term.strip() for term in text.split(",")]
        allowed = self.choices(view)
        named = [term.lstrip("-") for term in terms]
        if any(term not in allowed for term in terms) or len(set(named)) != len(named):
            raise ValidationError({self.ordering_param: [
                _("Order by one or more of %(allowed)s, separated by commas, each at most once.")
                % {"allowed": ", ".join(allowed)}]})
        return terms

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [{
            "name": self.ordering_param,
            "required": False,
            "in": "query",
            "description": "The order of the list: fields separated by commas, each with a leading - for "
                           "descending; ties are ordered by id.",
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "items": {"type": "string", "enum": self.choices(view)}},
        }]
