"""Completes the generated schema with the error answers every view can give, so that
clients (and the fuzzing tests) find each status the API answers documented."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
# Lists answer 400 for a filter value they cannot read and 404 for a page past the end.
LISTS = ("/api/v1/cases/", "/api/v1/notifications/", "/api/v1/visits/")


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            if {} not in operation.get("security", []):
                responses.setdefault("401", {"content": ERROR, "description": "Not authenticated."})
            if method == "get" and path in LISTS:
                responses.setdefault("400", {"content": ERROR, "description": "A filter value is not valid."})
                responses.setdefault("404", {"content": ERROR, "description": "No such page."})
    return result


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    """The token header as the schema tells clients: "Authorization: Token <key>"."""

    target_class = "cases.tokens.DeviceTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")
