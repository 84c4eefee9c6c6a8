"""A local HTTP stand-in for the Stripe API endpoints the billing service calls.

It runs a real HTTP server on 127.0.0.1 in a thread, so the official Stripe SDK talks to
it over the network exactly as it talks to api.stripe.com. It returns Stripe-shaped
JSON objects, replays the first response for a repeated `Idempotency-Key` as Stripe does,
and records every request for the tests to inspect. Webhooks are signed with Stripe's
scheme: `Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

API_VERSION = "2026-10-28.endive"


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode Stripe's form encoding (`line_items[0][price]=...`) into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    # Dicts whose keys are 0, 1, 2, ... were arrays.
    if not isinstance(node, dict):
        return node
    converted = {key: _lists(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def stripe_error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)


@dataclass
class StripeStandIn:
    requests: list[RecordedRequest] = field(default_factory=list)
    subscriptions: dict[str, dict] = field(default_factory=dict)
    refunds_by_charge: dict[str, list[dict]] = field(default_factory=dict)
    charge_of_intent: dict[str, str] = field(default_factory=dict)
    invoice_payments: dict[str, list[dict]] = field(default_factory=dict)
    _replies: dict[tuple[str, str], dict] = field(default_factory=dict)
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def creates(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == path]

    # Objects the tests put in place, as Stripe would hold them.

    def add_subscription(self, subscription_id: str, *, period_end: int, metadata: dict | None = None) -> dict:
        subscription = {
            "id": subscription_id,
            "object": "subscription",
            "status": "active",
            "cancel_at_period_end": False,
            "metadata": metadata or {},
            "items": {
                "object": "list",
                "data": [{"id": new_id("si"), "object": "subscription_item", "current_period_end": period_end}],
                "has_more": False,
                "url": "/v1/subscription_items",
            },
        }
        self.subscriptions[subscription_id] = subscription
        return subscription

    def add_refund(self, charge_id: str, *, amount: int, payment_intent: str, status: str = "succeeded") -> dict:
        refund = {
            "id": new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge_id,
            "payment_intent": payment_intent,
            "currency": "eur",
            "status": status,
            "reason": "requested_by_customer",
            "created": int(time.time()),
            "metadata": {},
        }
        self.refunds_by_charge.setdefault(charge_id, []).append(refund)
        return refund

    # The HTTP side.

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/customers", self._create("customer", "cus"), methods=["POST"]),
                Route("/v1/products", self._create("product", "prod"), methods=["POST"]),
                Route("/v1/prices", self._create("price", "price"), methods=["POST"]),
                Route("/v1/checkout/sessions", self._create("checkout.session", "cs_test"), methods=["POST"]),
                Route("/v1/billing_portal/sessions", self._create("billing_portal.session", "bps"), methods=["POST"]),
                Route("/v1/transfers", self._create("transfer", "tr"), methods=["POST"]),
                Route("/v1/refunds", self._create_refund, methods=["POST"]),
                Route("/v1/refunds", self._list_refunds, methods=["GET"]),
                Route("/v1/subscriptions/{subscription_id}", self._get_subscription, methods=["GET"]),
                Route("/v1/invoice_payments", self._list_invoice_payments, methods=["GET"]),
            ]
        )

    async def _record(self, request: Request) -> RecordedRequest:
        if request.method == "GET":
            params = parse_form(list(request.query_params.multi_items()))
        else:
            params = parse_form(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            params=params,
            idempotency_key=request.headers.get("idempotency-key"),
        )
        self.requests.append(recorded)
        return recorded

    def _create(self, object_name: str, prefix: str):
        async def create(request: Request) -> JSONResponse:
            recorded = await self._record(request)
            replay = self._replay(recorded)
            if replay is not None:
                return JSONResponse(replay)

            body = {"id": new_id(prefix), "object": object_name, "livemode": False, **recorded.params}
            if object_name == "checkout.session":
                body["url"] = f"https://checkout.stripe.test/c/pay/{body['id']}"
                body["status"] = "open"
            if object_name == "billing_portal.session":
                body["url"] = f"https://billing.stripe.test/p/session/{body['id']}"
            return JSONResponse(self._remember(recorded, body))

        return create

    async def _create_refund(self, request: Request) -> JSONResponse:
        recorded = await self._record(request)
        replay = self._replay(recorded)
        if replay is not None:
            return JSONResponse(replay)

        intent = recorded.params.get("payment_intent")
        charge_id = self.charge_of_intent.setdefault(intent, new_id("ch"))
        refund = self.add_refund(charge_id, amount=int(recorded.params["amount"]), payment_intent=intent)
        refund["metadata"] = recorded.params.get("metadata", {})
        return JSONResponse(self._remember(recorded, refund))

    async def _list_refunds(self, request: Request) -> JSONResponse:
        recorded = await self._record(request)
        refunds = self.refunds_by_charge.get(recorded.params.get("charge"), [])
        return JSONResponse({"object": "list", "data": refunds, "has_more": False, "url": "/v1/refunds"})

    async def _get_subscription(self, request: Request) -> JSONResponse:
        await self._record(request)
        subscription_id = request.path_params["subscription_id"]
        if subscription_id not in self.subscriptions:
            return stripe_error(404, f"No such subscription: '{subscription_id}'")
        return JSONResponse(self.subscriptions[subscription_id])

    async def _list_invoice_payments(self, request: Request) -> JSONResponse:
        recorded = await self._record(request)
        payments = self.invoice_payments.get(recorded.params.get("invoice"), [])
        return JSONResponse({"object": "list", "data": payments, "has_more": False, "url": "/v1/invoice_payments"})

    def _replay(self, recorded: RecordedRequest) -> dict | None:
        if recorded.idempotency_key is None:
            return None
        return self._replies.get((recorded.path, recorded.idempotency_key))

    def _remember(self, recorded: RecordedRequest, body: dict) -> dict:
        if recorded.idempotency_key is not None:
            self._replies[(recorded.path, recorded.idempotency_key)] = body
        return body

    # Lifecycle.

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the Stripe stand-in did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)


def sign(payload: str, secret: str, *, timestamp: int | None = None) -> str:
    """Build a `Stripe-Signature` header value for `payload`, as Stripe signs webhooks."""
    timestamp = timestamp if timestamp is not None else int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def stripe_event(event_type: str, obj: dict, *, event_id: str | None = None) -> dict:
    return {
        "id": event_id or new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }


def encode_event(event: dict) -> str:
    return json.dumps(event, separators=(",", ":"))
