"""Each operation of the state machine as the API types it, read from its form
(workflow/forms.py): a named request schema per operation, the shape a body is checked
against before the form reads it, and the typed field descriptions a case's
`operations` carry. The form stays the rule (required, choices for this case, every
business check); the shape refuses a value of the wrong type, in the API's error shape."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django import forms
from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from workflow.flow import operations
from workflow.forms import CORRECTABLE

MAX_ID = 2**63 - 1

# Facts a form reads only when the body names them: a correction names those it changes
# (workflow.forms.CorrectForm), so none of them is required of the body.
NAMED_ONLY: dict[str, frozenset[str]] = {"correct": frozenset(CORRECTABLE)}

STRING, INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, FILE = (
    "string", "integer", "decimal", "boolean", "date", "date-time", "file")
TYPES = (STRING, INTEGER, DECIMAL, BOOLEAN, DATE, DATETIME, FILE)


def form_of(name: str) -> type[forms.Form]:
    return next(iter(operations()[name].get_transitions())).custom["form"]


def type_of(field: forms.Field) -> str:
    # Order matters: a DecimalField is an IntegerField, a ModelChoiceField a ChoiceField.
    if isinstance(field, forms.FileField):
        return FILE
    if isinstance(field, forms.ModelChoiceField):
        return INTEGER
    if isinstance(field, (forms.BooleanField, forms.NullBooleanField)):
        return BOOLEAN
    if isinstance(field, forms.DateTimeField):
        return DATETIME
    if isinstance(field, forms.DateField):
        return DATE
    if isinstance(field, forms.DecimalField):
        return DECIMAL
    if isinstance(field, forms.IntegerField):
        return INTEGER
    return STRING


def has_files(name: str) -> bool:
    return any(type_of(field) == FILE for field in form_of(name).base_fields.values())


def required_in(name: str, field_name: str, field: forms.Field) -> bool:
    return field.required and field_name not in NAMED_ONLY.get(name, ())


def fixed_choices(field: forms.Field) -> list[tuple[str, str]]:
    """A plain choice field's choices, groups flattened, the empty choice left out."""
    found: list[tuple[str, str]] = []
    for value, label in getattr(field, "choices", ()):
        if isinstance(label, (list, tuple)):
            found += [(str(v), str(lab)) for v, lab in label if v not in ("", None)]
        elif value not in ("", None):
            found.append((str(value), str(label)))
    return found


class Blankable:
    """An empty value ("" as a page's form sends it, or null) passes the shape: whether
    the field may be empty is the form's rule, answered in the form's words."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data == "":
            data = None
        return super().validate_empty_values(data)  # type: ignore[misc]


class TextShape(Blankable, serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Readable text is the form's rule (cases.validators), in its words.
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitSurrogateCharactersValidator)]

    def to_internal_value(self, data: Any) -> str:
        # Text is a string, as the schema says; DRF's own field would take a number too.
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ChoiceShape(Blankable, serializers.ChoiceField):
    pass


class IntegerShape(Blankable, serializers.IntegerField):
    pass


class DecimalShape(Blankable, serializers.DecimalField):
    pass


class DateShape(Blankable, serializers.DateField):
    pass


class DateTimeShape(Blankable, serializers.DateTimeField):
    pass


# A file part of a multipart body, as OpenAPI 3.1 describes one: its bytes, of a media
# type of its own (a `type: string` would call the bytes text, which they are not).
FILE_PART = {"format": "binary", "contentMediaType": "application/octet-stream"}


@extend_schema_field(FILE_PART)
class FileShape(Blankable, serializers.FileField):
    pass


class AlsoAsText:
    """A field of the schema that also takes its value as text, as a page's form sends
    it and as clients of the untyped API did ("12" for an id, "true" for a flag); the
    schema says so (TextToo), so a generated client and a hand-written one are both
    served and both described."""

    also: dict[str, Any] = {}


class IdOrText(AlsoAsText, serializers.IntegerField):
    also = {"type": "string", "pattern": r"^[0-9]+$"}


class DecimalOrNumber(AlsoAsText, serializers.DecimalField):
    also = {"type": "number"}


class BooleanOrText(AlsoAsText, serializers.BooleanField):
    also = {"type": "string", "enum": sorted(
        v for v in serializers.BooleanField.TRUE_VALUES | serializers.BooleanField.FALSE_VALUES if isinstance(v, str))}


class TextToo(OpenApiSerializerFieldExtension):
    target_class = AlsoAsText
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        typed = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {"oneOf": [typed, self.target.also]}


def shape_field(name: str, field_name: str, field: forms.Field, *, for_schema: bool) -> serializers.Field:
    """The shape of one form field. For the schema it carries the form's flags (required,
    maxLength); for checking a body only the type, so presence and length are refused in
    the form's own words, as on the page."""
    required = for_schema and required_in(name, field_name, field)
    # help_text stays lazy: the schema is built in its own language (api.schema).
    common: dict[str, Any] = {"required": required, "help_text": field.help_text or None}
    if not for_schema:
        common["allow_null"] = True
    kind = type_of(field)
    if kind == FILE:
        return FileShape(**common)
    if kind == BOOLEAN:
        return (BooleanOrText if for_schema else serializers.BooleanField)(**common)
    if kind == DATETIME:
        return DateTimeShape(**common)
    if kind == DATE:
        return DateShape(**common)
    if isinstance(field, forms.ModelChoiceField):
        # An id; one that names nothing on offer is the form's invalid choice.
        if for_schema:
            return IdOrText(min_value=1, max_value=MAX_ID, **common)
        return IntegerShape(max_value=MAX_ID, **common)
    if kind == DECIMAL:
        return (DecimalOrNumber if for_schema else DecimalShape)(
            max_digits=field.max_digits, decimal_places=field.decimal_places, **common)
    if kind == INTEGER and for_schema:
        return IdOrText(min_value=field.min_value, max_value=field.max_value, **common)
    if kind == INTEGER:
        return IntegerShape(max_value=MAX_ID, **common)
    choices = fixed_choices(field) if isinstance(field, forms.ChoiceField) else None
    if choices is not None and for_schema:
        return serializers.ChoiceField(choices=choices, allow_blank=not required, **common)
    if choices is not None:
        return ChoiceShape(choices=choices, allow_blank=True, **common)
    return TextShape(max_length=getattr(field, "max_length", None) if for_schema else None,
                     allow_blank=not required, **common)


def camel(name: str) -> str:
    return re.sub(r"(?:^|_)([a-z])", lambda m: m.group(1).upper(), name)


@cache
def shape(name: str, *, files: bool = True, for_schema: bool = False) -> type[serializers.Serializer]:
    """The request shape of operation `name`, a serializer named after it (the schema's
    `<Name>OperationRequest`; `<Name>OperationUploadRequest` with its files, sent as
    multipart/form-data)."""
    fields = {field_name: shape_field(name, field_name, field, for_schema=for_schema)
              for field_name, field in form_of(name).base_fields.items()
              if files or type_of(field) != FILE}
    suffix = "OperationUpload" if files and has_files(name) else "Operation"
    return type(f"{camel(name)}{suffix}" + ("" if for_schema else "Check"), (serializers.Serializer,),
                {**fields, "__doc__": f"The data of the operation {name}.", "__module__": __name__})


def request_schema(name: str) -> dict[str, Any]:
    """The request bodies operation `name` documents: JSON, and multipart/form-data for
    an operation with files (JSON alone cannot carry one; an operation whose file is
    required is documented as multipart only)."""
    if not has_files(name):
        return {"application/json": shape(name, for_schema=True)}
    bodies: dict[str, Any] = {"multipart/form-data": shape(name, for_schema=True)}
    if not any(f.required for f in form_of(name).base_fields.values() if type_of(f) == FILE):
        bodies = {"application/json": shape(name, files=False, for_schema=True), **bodies}
    return bodies


def choices_url(case_id: int, name: str) -> str:
    return reverse("api-operation-choices", kwargs={"id": case_id, "name": name})


def describe(name: str, form: forms.Form, case_id: int) -> list[dict[str, Any]]:
    """The fields of operation `name` as its form stands for this case and person: each
    typed, with its fixed choices inline, or where to fetch the choices of a field whose
    choices are people, units or records of this case."""
    described = []
    for field_name, field in form.fields.items():
        kind = type_of(field)
        model_choices = isinstance(field, forms.ModelChoiceField)
        choices = None if model_choices or not isinstance(field, forms.ChoiceField) else [
            {"value": value, "label": label} for value, label in fixed_choices(field)]
        described.append({
            "name": field_name,
            "label": str(field.label or field_name),
            "type": kind,
            "required": required_in(name, field_name, field),
            "help_text": str(field.help_text or ""),
            "max_length": getattr(field, "max_length", None) if kind == STRING and choices is None else None,
            "choices": choices,
            "choices_url": choices_url(case_id, name) if model_choices else None,
        })
    return described


def field_choices(form: forms.Form) -> list[dict[str, Any]]:
    """Every field of `form` that offers choices, with the choices as the form offers
    them now (its querysets are the rule of reach: workflow.permissions): ids for people,
    units and records, values for fixed choices."""
    found = []
    for field_name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField):
            choices = [{"value": int(value.value), "label": str(label)} for value, label in field.choices
                       if value not in ("", None)]
        elif isinstance(field, forms.ChoiceField):
            choices = [{"value": value, "label": label} for value, label in fixed_choices(field)]
        else:
            continue
        found.append({"name": field_name, "label": str(field.label or field_name),
                      "type": type_of(field), "choices": choices})
    return found
