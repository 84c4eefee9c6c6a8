"""Access tokens for service tests that run without the identity service.

The tokens have the exact shape identity issues (ES256, `kid`, issuer, audience, claims),
signed with a key generated here and installed into the service's JWKS cache.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from shared.auth import AUDIENCE, ISSUER, JwksCache


@dataclass
class TestUser:
    __test__ = False  # a data class, not a test case

    user_id: uuid.UUID = field(default_factory=uuid.uuid4)
    username: str = "user"
    staff: tuple[str, ...] = ()
    # (organisation id, namespace, role)
    orgs: tuple[tuple[uuid.UUID, str, str], ...] = ()


class TokenIssuer:
    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.kid = uuid.uuid4().hex

    def jwks(self) -> dict:
        public = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": "ES256", "use": "sig"}]}

    def install(self, cache: JwksCache) -> None:
        cache.set_keys(self.jwks())

    def token(self, user: TestUser, *, ttl: int = 300) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(user.user_id),
            "typ": "access",
            "username": user.username,
            "staff": list(user.staff),
            "orgs": [{"id": str(o), "ns": ns, "role": role} for o, ns, role in user.orgs],
            "iat": now,
            "exp": now + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.kid})

    def headers(self, user: TestUser) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}
