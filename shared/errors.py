"""Errors as RFC 9457 problem+json, raised by domain code and mapped in one place."""

from __future__ import annotations

import re
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://wharf.dev/problems/"

log = structlog.get_logger()

# The path prefix the gateway removed before forwarding, such as "/api/catalog".
_FORWARDED_PREFIX = re.compile(r"^(?:/[A-Za-z0-9._~-]+)+\Z")


class ConfigurationError(RuntimeError):
    """A setting that stops a service from starting; the message names the variable to fix."""


class ProblemError(Exception):
    """Base of every error a service maps to an HTTP response.

    Subclasses set `status`, a stable `type` slug and a `title`; the instance carries a
    `detail` that names the value at fault.
    """

    status: int = 400
    type: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(ProblemError):
    pass


class InvalidValue(ProblemError):
    """A value that passed schema validation but breaks a domain rule."""

    status = 422
    type = "invalid-value"
    title = "Invalid value"


class Unauthorized(ProblemError):
    status = 401
    type = "unauthorized"
    title = "Authentication required"


class Forbidden(ProblemError):
    status = 403
    type = "forbidden"
    title = "Not allowed"


class NotFound(ProblemError):
    status = 404
    type = "not-found"
    title = "Not found"


class Conflict(ProblemError):
    status = 409
    type = "conflict"
    title = "Conflict"


class PayloadTooLarge(ProblemError):
    status = 413
    type = "payload-too-large"
    title = "Payload too large"


class TooManyRequests(ProblemError):
    status = 429
    type = "too-many-requests"
    title = "Too many requests"


class ServiceUnavailable(ProblemError):
    status = 503
    type = "service-unavailable"
    title = "Service unavailable"


class BadGateway(ProblemError):
    status = 502
    type = "bad-gateway"
    title = "Bad gateway"


class GatewayTimeout(ProblemError):
    status = 504
    type = "gateway-timeout"
    title = "Gateway timeout"


def problem_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_CONTENT_TYPE)


def request_path(request: Request) -> str:
    """Return the path the client called: behind the gateway, its prefix and the service's path.

    The gateway replaces any `X-Forwarded-Prefix` the client sent with its own. A request
    made to the service directly may carry any value, so only a plain path is used.
    """
    prefixes = request.headers.getlist("x-forwarded-prefix")
    if prefixes and _FORWARDED_PREFIX.match(prefixes[-1]):
        return prefixes[-1] + request.url.path
    return request.url.path


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        errors.append(
            {
                # ("body", "tiers", 0, "price") becomes "body.tiers.0.price".
                "field": ".".join(str(part) for part in error.get("loc", ())),
                "message": error.get("msg", ""),
                "type": error.get("type", ""),
            }
        )
    return errors


def install_error_handlers(app: FastAPI) -> None:
    """Map every error raised by a route to problem+json."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError):
        return problem_response(exc.status, exc.to_problem(request_path(request)), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = _field_errors(exc)
        fields = ", ".join(error["field"] for error in errors)
        body = {
            "type": PROBLEM_TYPE_BASE + "validation-error",
            "title": "Invalid request",
            "status": 422,
            "detail": f"Invalid value in: {fields}",
            "instance": request_path(request),
            "errors": errors,
        }
        return problem_response(422, body)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        body = {
            "type": PROBLEM_TYPE_BASE + slug,
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": f"{request.method} {request_path(request)}: {exc.detail}",
            "instance": request_path(request),
        }
        return problem_response(exc.status_code, body, getattr(exc, "headers", None))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError):
        # SQLSTATE class 22 is "data exception": a value the database cannot store, such as
        # a NUL character in text or a number beyond 64 bits. The request's transaction has
        # rolled back, so nothing was written.
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if sqlstate and str(sqlstate).startswith("22"):
            log.info("request.invalid_value", path=request.url.path, sqlstate=sqlstate)
            body = {
                "type": PROBLEM_TYPE_BASE + "invalid-value",
                "title": "Invalid value",
                "status": 422,
                "detail": (
                    "A value in the request cannot be stored: it is out of range or contains a "
                    f"character that is not allowed, such as NUL ({_database_message(exc)})"
                ),
                "instance": request_path(request),
            }
            return problem_response(422, body)
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("request.failed", path=request.url.path, error=repr(exc))
        body = {
            "type": PROBLEM_TYPE_BASE + "internal-error",
            "title": "Internal server error",
            "status": 500,
            "detail": "The server failed to handle the request; the error is logged with its request id.",
            "instance": request_path(request),
        }
        return problem_response(500, body)


def _database_message(exc: DBAPIError) -> str:
    # asyncpg errors arrive wrapped twice; the innermost message names the problem.
    inner = getattr(exc.orig, "__cause__", None) or exc.orig
    return str(inner).splitlines()[0][:200]


# OpenAPI description of the problem body, for routes to list in `responses=`.
PROBLEM_SCHEMA = {
    "content": {
        PROBLEM_CONTENT_TYPE: {
            "schema": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
            }
        }
    }
}


def problem_responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """Build a `responses=` mapping that documents the given statuses as problem+json."""
    return {status: {"description": "Problem", **PROBLEM_SCHEMA} for status in statuses}
