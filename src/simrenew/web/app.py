"""The HTTP application: routes, problem details for every error, health, metrics.

Its middleware (body limits, the last-resort 500, request metrics) is in web.middleware.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from simrenew import errors
from simrenew.bootstrap import Platform, build_platform
from simrenew.settings import Settings
from simrenew.web import dev
from simrenew.web.api import (
    PROBLEM_MEDIA_TYPE,
    Problematic,
    api_router,
    problem_response,
    problem_responses,
)
from simrenew.web.deps import PlatformDep, request_language
from simrenew.web.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    UnexpectedErrorMiddleware,
)
from simrenew.web.pages import payments as payment_pages
from simrenew.web.pages import selfcare

DESCRIPTION = """\
Renew prepaid SIM lines of Kuwaiti operators. Money is integer fils (1 KWD = 1000 fils) in
fields ending `_fils`; times are ISO 8601 with an offset (`+03:00` where a person reads them).
Authenticate with `Authorization: Bearer <token>`.

Every error is an RFC 9457 problem (`application/problem+json`) with a stable `code`; its `title`
and `detail` follow `?lang=`, then `Accept-Language` (en, ar, zh). Codes: `invalid_msisdn`,
`unknown_line`, `line_recycled`, `line_suspended`, `line_not_active`, `package_not_available`,
`payment_method_not_available`, `not_allowed`, `quote_expired`, `payment_declined`,
`insufficient_balance`, `idempotency_key_reused`, `rate_limited`, `validation_error`,
`unauthenticated`, `bad_signature`, `unknown_renewal`, `unknown_receipt`, `not_found`,
`invalid_identity`, `identity_mismatch`, `gateway_unavailable` (503, nothing charged: retry with
the same key); for subscribers `login_taken`, `line_already_bound`, `line_bound_elsewhere`,
`otp_invalid`, `otp_expired`; and from the HTTP layer: `payload_too_large` (413, a body larger
than the server's limit), `method_not_allowed` (405), `internal_error` (500),
`service_unavailable` (503).
"""


def _app_version() -> str:
    try:
        return version("simrenew")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


# ---------------------------------------------------------------------------------------------
# Exception handlers


async def _on_simrenew_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.SimrenewError)  # noqa: S101 - registered so
    headers: dict[str, str] = {}
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.RateLimited) and exc.retry_after:
        headers["Retry-After"] = str(exc.retry_after)
    return problem_response(exc, request_language(request), headers=headers or None)


def _field_name(loc: Sequence[int | str]) -> str:
    where, *rest = loc or ("body",)
    path = ".".join(str(part) for part in rest)
    if where == "body":
        return path or "body"
    return path or str(where)


def _field_message(error: dict[str, Any], field: str) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "syntax error")
        return f"the body is not valid JSON ({reason})"
    if field.endswith("_fils") and kind in {"int_type", "int_parsing", "int_from_float"}:
        return "must be a whole number of fils written as a JSON integer (not decimal, text, bool)"
    if field == "body" and kind == "missing":
        return "a JSON body is required"
    if field == "body" and kind in {"model_attributes_type", "dict_type", "model_type"}:
        return "must be a JSON object, sent with Content-Type: application/json"
    return str(error.get("msg", "is not valid"))


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered so
    field_errors = []
    for error in exc.errors():
        field = _field_name(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            field = "body"  # the location is a character offset, not a field
        field_errors.append({"field": field, "message": _field_message(error, field)})
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors)
    # The field names are the same in every language; the per-field messages are English.
    fields = ", ".join(dict.fromkeys(e["field"] for e in field_errors))
    translated = {
        "en": detail + ".",
        "ar": f"الحقول المعنية: {fields}.",
        "zh": f"相关字段：{fields}。",
    }
    return problem_response(
        errors.ValidationFailed(translated=translated),
        request_language(request),
        field_errors=field_errors,
    )


_HTTP_PROBLEMS: dict[int, Problematic] = {
    404: errors.NotFound(),
    405: errors.MethodNotAllowed(),
    413: errors.PayloadTooLarge(),
}


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered so
    language = request_language(request)
    if exc.status_code == 400:
        # FastAPI's answer to a body json.loads() could not read (bad UTF-8, numbers of
        # thousands of digits, nesting too deep): to clients that is malformed JSON.
        message = "the body could not be read as JSON (UTF-8 text, usual numbers and nesting)"
        return problem_response(
            errors.ValidationFailed(f"body: {message}."),
            language,
            field_errors=[{"field": "body", "message": message}],
        )
    headers = dict(exc.headers or {})
    known = _HTTP_PROBLEMS.get(exc.status_code)
    if known is not None:
        return problem_response(known, language, headers=headers)
    # A status nothing in simrenew raises on purpose (e.g. from a library): shape it anyway.
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    body = {
        "type": "about:blank",
        "title": phrase,
        "status": exc.status_code,
        "detail": phrase,
        "code": "http_error",
    }
    return JSONResponse(
        body, status_code=exc.status_code, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


# ---------------------------------------------------------------------------------------------
# The application


class Health(BaseModel):
    """The service and its database answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: str


class SimrenewAPI(FastAPI):
    """FastAPI whose OpenAPI gives error responses as `application/problem+json`."""

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, with problem schemas moved to their real media type."""
        if self.openapi_schema:
            return self.openapi_schema
        schema = super().openapi()  # cached by FastAPI: the changes below are made once
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    _move_problem_schema(status, response)
        return schema


def _move_problem_schema(status: str, response: dict[str, Any]) -> None:
    """FastAPI files `model=` schemas under application/json; problems are problem+json."""
    content = response.get("content", {})
    if status[:1] in {"4", "5"} and "application/json" in content:
        moved = content.pop("application/json")
        content[PROBLEM_MEDIA_TYPE] = {**moved, **content.get(PROBLEM_MEDIA_TYPE, {})}


def _add_operations_routes(app: FastAPI, registry: CollectorRegistry) -> None:
    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Whether the service and its database answer",
        response_model=Health,
        responses=problem_responses(errors.ServiceUnavailable),
    )
    def healthz(platform: PlatformDep) -> Health:
        """`{"status": "ok"}` when the database answers, 503 service_unavailable otherwise."""
        if not platform.database_answers():
            raise errors.ServiceUnavailable()
        return Health(status="ok")

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition format.",
                "content": {
                    "text/plain": {
                        "example": 'simrenew_http_requests_total{method="GET",'
                        'route="/healthz",status="200"} 1.0\n'
                    }
                },
            }
        },
    )
    def metrics() -> Response:
        """Request counts and latencies of this process."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def build_app(settings: Settings | None = None, *, platform: Platform | None = None) -> FastAPI:
    """The web application over a platform (built from settings when not given)."""
    settings = settings or (platform.settings if platform else Settings())
    owns_platform = platform is None
    built = platform or build_platform(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_platform:
            built.close()

    app = SimrenewAPI(
        title="simrenew",
        version=_app_version(),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = built
    app.state.settings = settings
    registry = CollectorRegistry()
    app.state.metrics_registry = registry

    app.add_exception_handler(errors.SimrenewError, _on_simrenew_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    # Added innermost first: metrics see the final status, including 413 and 500 answers.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(MetricsMiddleware, registry=registry)

    _add_operations_routes(app, registry)
    app.include_router(api_router())
    app.include_router(payment_pages.router)
    app.include_router(selfcare.build_router())
    app.mount("/static", StaticFiles(directory=selfcare.STATIC_DIR), name="static")
    if settings.env == "development":
        app.include_router(dev.router)
    return app
