"""A thin HTTP client for the journey: calls through the gateway and checks each response."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")


class StepFailed(Exception):
    """A failed check of the journey; the message names what was expected and what came back."""


class ApiClient:
    """Calls the store's API at `base_url` (the gateway) as one user, or anonymously."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, *, token: str | None = None, name: str = "anonymous"
    ):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.name = name

    def as_user(self, token: str, name: str) -> ApiClient:
        return ApiClient(self.http, self.base_url, token=token, name=name)

    async def request(
        self,
        method: str,
        path: str,
        *,
        expect: int | tuple[int, ...] = (200, 201, 204),
        what: str,
        **options: Any,
    ) -> httpx.Response:
        """Send a request and raise StepFailed unless the status is one of `expect`."""
        headers = dict(options.pop("headers", None) or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        try:
            response = await self.http.request(method, url, headers=headers, **options)
        except httpx.HTTPError as exc:
            raise StepFailed(f"{what}: {method} {url} failed: {exc!r}") from exc

        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise StepFailed(
                f"{what}: {method} {path} as {self.name} returned {response.status_code}, "
                f"expected {' or '.join(map(str, expected))}: {_problem(response)}"
            )
        return response

    async def get(self, path: str, *, what: str, **options: Any) -> Any:
        return (await self.request("GET", path, expect=200, what=what, **options)).json()

    async def post(
        self, path: str, *, what: str, expect: int | tuple[int, ...] = (200, 201), **options: Any
    ) -> Any:
        response = await self.request("POST", path, expect=expect, what=what, **options)
        return response.json() if response.content else None

    async def put(
        self, path: str, *, what: str, expect: int | tuple[int, ...] = (200, 201, 204), **options: Any
    ) -> Any:
        response = await self.request("PUT", path, expect=expect, what=what, **options)
        return response.json() if response.content else None

    async def patch(self, path: str, *, what: str, **options: Any) -> Any:
        return (await self.request("PATCH", path, expect=200, what=what, **options)).json()


def _problem(response: httpx.Response) -> str:
    """Return the problem+json detail and field errors of a response, else its first bytes."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if not isinstance(body, dict):
        return str(body)[:500]
    detail = body.get("detail") or body.get("title") or str(body)[:500]
    errors = body.get("errors")
    if errors:
        detail += " " + "; ".join(f"{error.get('field')}: {error.get('message')}" for error in errors[:10])
    for key in ("blockers", "unmet", "current_state"):
        if key in body:
            detail += f" {key}={body[key]}"
    return detail


async def eventually(
    probe: Callable[[], Awaitable[T | None]],
    *,
    what: str,
    timeout: float = 60.0,
    interval: float = 0.5,
) -> T:
    """Call `probe` until it returns something other than None or False, or raise StepFailed.

    Events cross services asynchronously, so the journey waits for their effects. The
    last StepFailed that `probe` raised, if any, explains a timeout.
    """
    deadline = time.monotonic() + timeout
    last_error: StepFailed | None = None
    while True:
        try:
            result = await probe()
        except StepFailed as exc:
            result, last_error = None, exc
        if result is not None and result is not False:
            return result
        if time.monotonic() >= deadline:
            reason = f" (last error: {last_error})" if last_error else ""
            raise StepFailed(f"timed out after {timeout:.0f} s waiting until {what}{reason}")
        await asyncio.sleep(interval)
