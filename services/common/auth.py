"""JWT (HS256) verification with errors that name the problem, and a minting helper."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

REQUIRED_CLAIMS = ("sub", "tenant", "exp")


class AuthError(Exception):
    """A request's credentials were rejected; ``code`` names which problem."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Claims:
    """The verified identity of a caller."""

    sub: str
    tenant: str
    admin: bool


def verify(authorization: str | None, secret: str, leeway: float = 0.0) -> Claims:
    """Check an ``Authorization`` header value; raise AuthError(missing|malformed|bad_signature|expired)."""
    if not authorization:
        raise AuthError("missing_token", "Authorization header with a Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed_token", "Authorization header must be 'Bearer <JWT>'")
    try:
        claims: dict[str, Any] = jwt.decode(
            token.strip(),
            secret,
            algorithms=["HS256"],
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token_expired", "token has expired") from exc
    except (jwt.InvalidSignatureError, jwt.InvalidAlgorithmError) as exc:
        raise AuthError("bad_signature", f"token signature is not valid: {exc}") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError("malformed_token", f"token is missing a claim: {exc.claim}") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError("malformed_token", f"token is malformed: {exc}") from exc
    if not isinstance(claims["tenant"], str) or not isinstance(claims["sub"], str):
        raise AuthError("malformed_token", "claims 'sub' and 'tenant' must be strings")
    return Claims(sub=claims["sub"], tenant=claims["tenant"], admin=claims.get("admin") is True)


def mint(secret: str, sub: str, tenant: str, ttl: float = 3600.0, admin: bool = False) -> str:
    """Issue a token (for tests and local use)."""
    claims: dict[str, Any] = {"sub": sub, "tenant": tenant, "exp": int(time.time() + ttl)}
    if admin:
        claims["admin"] = True
    return jwt.encode(claims, secret, algorithm="HS256")
