"""Every answer the API tests get through DRF's APIClient is checked against the schema the
server serves (openapi-core), so the schema cannot drift from what the API does: the
answer must be one its operation documents, with that status, headers and body; and a
request the schema calls invalid must have been refused (4xx), never served.

The schema is fetched and compiled once per session. Requests to paths or methods the
schema does not have (the schema and docs pages, a PUT to see a 405) are not checked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test.client import FakePayload
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from rest_framework.test import APIClient

SCHEMA = "/api/v1/schema/"
UNCHECKED = (SCHEMA, "/api/v1/docs/")


class SentRequest(DjangoOpenAPIRequest):
    """The request as sent: its body from before the view read the stream, and its path
    parameters found by the schema's templates rather than Django's route names."""

    def __init__(self, request: Any, body: bytes) -> None:
        super().__init__(request)
        self.sent_body = body
        self.parameters.path = {}

    @property
    def body(self) -> bytes:
        return self.sent_body

    @property
    def path_pattern(self) -> None:
        return None


@pytest.fixture(scope="session")
def served_openapi(django_db_setup: Any, django_db_blocker: Any) -> OpenAPI:
    with django_db_blocker.unblock():
        response = APIClient().get(SCHEMA, {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    return OpenAPI.from_dict(json.loads(response.content))


def mismatch(openapi: OpenAPI, response: Any, body: bytes) -> str | None:
    """What is wrong with this exchange by the schema, or None."""
    request = SentRequest(response.wsgi_request, body)
    try:
        refused = openapi.unmarshal_request(request).errors
    except RecursionError:  # a body nested past what json.loads can read: not valid either
        refused = [ValueError("the body is nested too deeply to read")]
    if any(isinstance(error, (PathNotFound, OperationNotFound)) for error in refused):
        return None
    if refused and response.status_code < 400:
        return f"the schema calls the request invalid, yet it was answered {response.status_code}: {explained(refused)}"
    errors = openapi.unmarshal_response(request, DjangoOpenAPIResponse(response)).errors
    if errors:
        return f"the answer ({response.status_code}) does not match the schema: {explained(errors)}"
    return None


def explained(errors: list[Exception]) -> str:
    """Each error down to the place in the document and the rule it breaks."""
    lines = []
    for error in errors:
        cause = error.__cause__ or error
        for problem in getattr(cause, "schema_errors", None) or [cause]:
            where = "/".join(str(part) for part in getattr(problem, "absolute_path", ()))
            lines.append(f"{type(error).__name__} at /{where}: {getattr(problem, 'message', problem)}"[:400])
    return "\n  ".join(lines)


@pytest.fixture(autouse=True)
def _answers_match_the_schema(monkeypatch: pytest.MonkeyPatch, served_openapi: OpenAPI) -> None:
    openapi = served_openapi
    sent = APIClient.request

    def checked(client: APIClient, **environ: Any) -> Any:
        payload = environ.get("wsgi.input")
        body = payload.read() if isinstance(payload, FakePayload) else b""
        if isinstance(payload, FakePayload):
            environ["wsgi.input"] = FakePayload(body)
        response = sent(client, **environ)
        if not str(environ.get("PATH_INFO", "")).startswith(UNCHECKED):
            problem = mismatch(openapi, response, body)
            if problem:
                pytest.fail(f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}"
                            f"?{environ.get('QUERY_STRING', '')}: {problem}\n{response.content[:800]!r}",
                            pytrace=False)
        return response

    monkeypatch.setattr(APIClient, "request", checked)
