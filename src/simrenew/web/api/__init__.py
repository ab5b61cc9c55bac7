"""The JSON API v1: one router per room, and the problem details every route answers with.

Errors of the catalogue (errors.py) become RFC 9457 `application/problem+json` bodies here.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from simrenew import errors

API_PREFIX = "/api/v1"
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://simrenew.dev/problems/"


Problematic = errors.SimrenewError
ProblemClass = type[errors.SimrenewError]


class ProblemFieldError(BaseModel):
    """One field that failed validation."""

    field: str = Field(description="Where: a body field path, a query or header name.")
    message: str = Field(description="What is wrong with it (English).")


class Problem(BaseModel):
    """An RFC 9457 problem: `code` is stable, `title` and `detail` are in the caller's language."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": PROBLEM_TYPE_BASE + "line_suspended",
                    "title": errors.LineSuspended.titles["en"],
                    "status": 409,
                    "detail": errors.LineSuspended.titles["en"],
                    "code": "line_suspended",
                }
            ]
        }
    )

    type: str = Field(description="A URI naming the problem: the base plus the code.")
    title: str = Field(description="A short summary in the caller's language.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What happened, in the caller's language.")
    code: str = Field(description="The stable error code clients branch on.")
    errors: list[ProblemFieldError] | None = Field(
        default=None, description="For validation_error: every field at fault."
    )


def problem_body(
    error: Problematic,
    language: str,
    *,
    field_errors: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """The problem JSON of an error in the caller's language."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.code,
        "title": error.title(language),
        "status": error.http_status,
        "detail": error.message(language),
        "code": error.code,
    }
    if field_errors is not None:
        body["errors"] = field_errors
    return body


def problem_response(
    error: Problematic,
    language: str,
    *,
    headers: dict[str, str] | None = None,
    field_errors: list[dict[str, str]] | None = None,
) -> JSONResponse:
    """An error as an `application/problem+json` response in the caller's language."""
    return JSONResponse(
        problem_body(error, language, field_errors=field_errors),
        status_code=error.http_status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers={"Content-Language": language, **(headers or {})},
    )


class RequestBody(BaseModel):
    """Base of every request body: unknown fields are refused and nothing is coerced."""

    # strict: 5.0, true and "5" are not integers; a client bug must not move money.
    model_config = ConfigDict(extra="forbid", strict=True)


def _example(error: ProblemClass) -> dict[str, Any]:
    instance = error()
    return {"summary": error.titles["en"], "value": problem_body(instance, "en")}


def problem_responses(*problems: ProblemClass) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the problems a route may answer (internal_error always)."""
    responses: dict[int | str, dict[str, Any]] = {}
    all_problems: tuple[ProblemClass, ...] = (*problems, errors.InternalError)
    for problem in all_problems:
        entry = responses.setdefault(
            problem.http_status,
            {
                "model": Problem,
                "description": problem.titles["en"],
                "content": {PROBLEM_MEDIA_TYPE: {"examples": {}}},
            },
        )
        examples = entry["content"][PROBLEM_MEDIA_TYPE]["examples"]
        if examples:
            entry["description"] = "One of the problems below (see `code`)."
        examples[problem.code] = _example(problem)
    return responses


# Problems every authenticated route may answer.
AUTH_PROBLEMS: tuple[ProblemClass, ...] = (errors.Unauthenticated,)
# Problems every route with a JSON body may answer.
BODY_PROBLEMS: tuple[ProblemClass, ...] = (errors.ValidationFailed, errors.PayloadTooLarge)


def api_router() -> APIRouter:
    """Every v1 route, under /api/v1."""
    # Imported here: the room routers import this module's vocabulary.
    from simrenew.web.api import catalog, lines, me, me_account, payments, receipts, renewals, sms

    # Each room router carries the full prefix itself, so that a route's own path is its
    # whole template (the metrics label it by that).
    router = APIRouter()
    for room in (catalog, lines, renewals, payments, receipts, me_account, me):
        router.include_router(room.router)
    router.include_router(receipts.public_router)
    router.include_router(sms.router)  # gateway callbacks at /sms/..., outside /api/v1
    return router
