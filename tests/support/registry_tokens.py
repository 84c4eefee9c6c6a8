"""A token service for Distribution's token authentication, for tests.

`TokenIssuer` makes a P-256 key and a self-signed certificate, writes the certificate as
the registry's `rootcertbundle`, and signs tokens with the certificate in the `x5c`
header, which is what Distribution 2.8 verifies. `TokenServer` serves ``GET /token`` on a
free 127.0.0.1 port in a thread, granting the requested scopes to the one configured
user (or to anyone when no user is set).
"""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.registry import TokenAuth, free_port


class TokenIssuer:
    def __init__(self, workdir: Path, *, issuer: str = "wharf-test", service: str = "registry"):
        self.issuer = issuer
        self.service = service
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        workdir.mkdir(parents=True, exist_ok=True)
        self.bundle = workdir / "token-root.pem"
        self.bundle.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def token(self, subject: str, access: list[dict], lifetime_seconds: int = 300) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + lifetime_seconds,
            "jti": f"{subject}-{now}-{id(access)}",
            "access": access,
        }
        x5c = base64.b64encode(self.certificate.public_bytes(serialization.Encoding.DER)).decode()
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [x5c]})


def parse_scope(scope: str) -> dict:
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return {"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]}


class TokenServer:
    """Serve tokens from `issuer`; records each request's scopes in `requests`."""

    def __init__(self, issuer: TokenIssuer, *, username: str | None = None, password: str = ""):
        self.issuer = issuer
        self.username = username
        self.password = password
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        self.requests: list[list[str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def auth(self) -> TokenAuth:
        return TokenAuth(self.realm, self.issuer.service, self.issuer.issuer, self.issuer.bundle)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                query = parse_qs(urlsplit(self.path).query)
                scopes = query.get("scope", [])
                server.requests.append(scopes)
                if server.username is not None and not self._authorised():
                    self.send_response(401)
                    self.end_headers()
                    return
                token = server.issuer.token(server.username or "anonymous",
                                            [parse_scope(scope) for scope in scopes])
                body = json.dumps({"token": token, "access_token": token}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return False
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                return user == server.username and password == server.password

            def log_message(self, *args):
                pass

        return Handler

    def __enter__(self) -> TokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()
