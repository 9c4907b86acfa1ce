"""The served schema, made to be generated from: the same whatever the caller's language,
each choice set one named enum whose members have names a generator can use, and every
status an operation answers documented with the headers that come with it.

Clients generated from it (openapi-python-client, OpenAPI Generator) name types after
components, titles and enum values: built in the caller's language, the names changed
with Accept-Language, and values such as "12345" became VALUE_5."""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from django.utils import translation
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.plumbing import build_bearer_security_scheme_object

from cases.ethnicity import ETHNICITIES

# English: the language of the API's field names, codes and descriptions. The labels
# of the choices in the caller's language are the reference endpoints' (categories/,
# sources/), which follow Accept-Language.
SCHEMA_LANGUAGE = "en"

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
STRING = {"schema": {"type": "string"}}


class FixedLanguageGenerator(SchemaGenerator):
    """The schema as built in SCHEMA_LANGUAGE, whoever asks."""

    def get_schema(self, request: Any = None, public: bool = False) -> Any:
        with translation.override(SCHEMA_LANGUAGE):
            return super().get_schema(request, public)


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Adds the answers every operation of a kind can give: 401 (with the scheme to use)
    where a login is needed, 400 where a list reads its query (a filter value, an
    unknown parameter or ordering, a cursor) or a body is sent, 413 and 415 where a body
    is sent; a 429 comes with Retry-After."""
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation.setdefault("responses", {})
            if {} not in operation.get("security", []):
                responses.setdefault("401", {"content": ERROR, "description": "Not authenticated."})
                responses["401"].setdefault("headers", {})["WWW-Authenticate"] = {
                    **STRING, "description": "The scheme to authenticate with: Token."}
            if any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                responses.setdefault("400", {"content": ERROR, "description": "A query parameter is not valid."})
            if "requestBody" in operation:
                responses.setdefault("400", {"content": ERROR, "description": "The body is not valid."})
                responses.setdefault("413", {"content": ERROR, "description": "The body is larger than allowed."})
                responses.setdefault("415", {"content": ERROR, "description": "The body is not JSON."})
            if "429" in responses:
                responses["429"].setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
    return result


def model_choices() -> list[Any]:
    """Every TextChoices class loaded: the models' choice sets (and Django's own)."""
    found, pending = [], [models.TextChoices]
    while pending:
        kind = pending.pop()
        pending += kind.__subclasses__()
        found.append(kind)
    return found


def member_names() -> dict[frozenset[str], list[tuple[str, str]]]:
    """Every choice set of the models, as (value, member name) pairs by its values."""
    found: dict[frozenset[str], list[tuple[str, str]]] = {}
    for kind in model_choices():
        members = [(str(member.value), member.name) for member in kind]
        if members:
            found.setdefault(frozenset(value for value, _ in members), members)
    return found


def ethnicity_names() -> dict[str, str]:
    """GB/T 3304's codes: 01–56 in its order, then 97 (其他) and 98."""
    codes = [*range(1, 57), 97, 98]
    return {name: f"ETHNICITY_{code:02d}" for name, code in zip(ETHNICITIES, codes, strict=True)}


def varnames(values: list[Any], known: dict[frozenset[str], list[tuple[str, str]]]) -> list[str]:
    """Names for an enum's members: the model's choice names where a choice set holds
    every value (the smallest such), GB/T 3304's codes for ethnic groups, else the value
    in capitals, behind VALUE_ where it does not start with a letter."""
    wanted = {str(value) for value in values}
    holding = sorted((members for vals, members in known.items() if wanted <= vals), key=len)
    by_value = dict(holding[0]) if holding else {}
    if wanted <= set(ethnicity_names()):
        by_value = ethnicity_names()
    names: list[str] = []
    for value in values:
        text = str(value)
        name = by_value.get(text) or re.sub(r"\W", "_", text.lstrip("-").upper(), flags=re.ASCII).strip("_")
        if not name:
            name = "BLANK"
        elif not name[0].isalpha():
            name = f"VALUE_{name}"
        if text.startswith("-") and text not in by_value:
            name += "_DESC"  # an ordering's descending term
        names.append(name if name not in names else f"{name}_{len(names) + 1}")
    return names


HASHED = re.compile(r"[0-9A-Fa-f]{3}Enum$")


def choice_classes() -> dict[frozenset[str], tuple[str, str]]:
    """The model's choice sets by their values, each with its class's name, alone and
    with the model's (Level, OrgUnitLevel)."""
    found: dict[frozenset[str], tuple[str, str]] = {}
    for kind in model_choices():
        found.setdefault(frozenset(str(member.value) for member in kind),
                         (kind.__name__, kind.__qualname__.replace(".", "")))
    return found


def one_name_per_enum(result: dict[str, Any]) -> None:
    """drf-spectacular names an enum after the field it was met on, so one choice set met
    on fields of different names became several components, and a field name meaning
    different sets got names with a hash in them (Kind290Enum). Each set of values is
    one component here, named after the model's choices it is (Case.Kind: KindEnum) or
    else by the plainest name it was given."""
    schemas = result.get("components", {}).get("schemas", {})
    groups: dict[tuple[Any, ...], list[str]] = {}
    for name, schema in schemas.items():
        if "enum" in schema:
            groups.setdefault((str(schema.get("type")), *sorted(map(str, schema["enum"]))), []).append(name)
    classes = choice_classes()
    renamed: dict[str, str] = {}
    for values, names in sorted(groups.items()):
        taken = (set(schemas) | set(renamed.values())) - set(names)
        short, qualified = classes.get(frozenset(values[1:]), (None, None))
        candidate = f"{short}Enum" if short else None
        if candidate in taken:
            candidate = f"{qualified}Enum"
        if len(names) == 1 and not HASHED.search(names[0]) and not (
                # Named after a field such as to_stage: the model's name reads better.
                candidate and names[0].endswith(candidate) and names[0] != f"{qualified}Enum"):
            continue
        if candidate is None or candidate in taken:
            candidate = min(names, key=lambda n: (bool(HASHED.search(n)), len(re.findall("[A-Z]", n)), -len(n), n))
        for name in names:
            renamed[name] = candidate
    if not renamed:
        return
    kept = {new: schemas[old] for old, new in renamed.items() if old == new or new not in schemas}
    for old in renamed:
        schemas.pop(old, None)
    schemas.update(kept)
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    targets = {f"#/components/schemas/{old}": f"#/components/schemas/{new}" for old, new in renamed.items()}

    def point(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("$ref") in targets:
                node["$ref"] = targets[node["$ref"]]
            for value in node.values():
                point(value)
        elif isinstance(node, list):
            for value in node:
                point(value)

    point(result)


def name_enums(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Gives each enum component the names of its members (x-enum-varnames, as
    openapi-python-client and OpenAPI Generator read them), and makes each query
    parameter offering a component's choices refer to that component instead of
    repeating them inline under a title of its own."""
    one_name_per_enum(result)
    schemas = result.get("components", {}).get("schemas", {})
    known = member_names()
    by_values: dict[frozenset[Any], str] = {}
    for name, schema in sorted(schemas.items()):
        if "enum" in schema:
            schema["x-enum-varnames"] = varnames(schema["enum"], known)
            by_values.setdefault(frozenset(schema["enum"]), name)
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                schema.pop("title", None)
                if isinstance(schema.get("type"), list):
                    # A query parameter is text or absent, never null (a nullable
                    # model field behind a filter made it "integer or null").
                    schema["type"] = next(t for t in schema["type"] if t != "null")
                holder = schema.get("items", schema) if schema.get("type") == "array" else schema
                if "enum" not in holder:
                    continue
                component = by_values.get(frozenset(holder["enum"]))
                if component is not None:
                    holder.clear()
                    holder["$ref"] = f"#/components/schemas/{component}"
                    if parameter.get("description", "").startswith("*"):
                        parameter.pop("description")  # the choices, which the component lists
                else:
                    holder["x-enum-varnames"] = varnames(holder["enum"], known)
    return result


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """The token header as the schema tells clients: "Authorization: Token <key>"."""

    target_class = "cases.tokens.DeviceTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
