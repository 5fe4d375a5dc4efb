"""Bearer tokens for requests: a registry of token factories, and a generic HS256 JWT factory.

A factory turns a ``TokenSpec`` (tenant, subject, admin, flaw) and the environment's resolved
parameters into a token. Steps ask for the factory registered under the environment's name,
else the one under ``"default"`` (an ``Hs256Tokens()`` reading the ``jwt_secret`` parameter).
A project registers its own from its ``environment.py`` or a steps module::

    register_token_factory("full-stack", Hs256Tokens(secret_param="jwt_secret"))

Flaws make tokens for auth tests: ``expired``, ``badly signed`` (another secret), ``malformed``
(not a JWT at all). ``harness token --secret S --tenant T [--admin] [--ttl N]`` prints one.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.warnings import InsecureKeyLengthWarning

from harness.errors import ConfigError, HarnessError

FLAWS = ("expired", "badly signed", "malformed")
DEFAULT = "default"


@dataclass(frozen=True)
class TokenSpec:
    """What a token should say: tenant and subject (None: the factory's default), admin, a flaw."""

    tenant: str | None = None
    subject: str | None = None
    admin: bool = False
    flaw: str = ""

    def __post_init__(self) -> None:
        if self.flaw and self.flaw not in FLAWS:
            raise HarnessError(f"unknown token flaw {self.flaw!r}", hint=f"flaws: {', '.join(FLAWS)}")


TokenFactory = Callable[[Mapping[str, Any], TokenSpec], str]
"""``factory(params, spec) -> token``: params are the environment's resolved parameters."""

_FACTORIES: dict[str, TokenFactory] = {}


def register_token_factory(name: str, factory: TokenFactory) -> None:
    """Use ``factory`` for the environment ``name`` (``"default"``: for every other one)."""
    _FACTORIES[name] = factory


def token_factory(env_name: str) -> TokenFactory:
    """The factory registered for ``env_name``, else the default one."""
    factory = _FACTORIES.get(env_name) or _FACTORIES.get(DEFAULT)
    if factory is None:
        raise HarnessError(f"no token factory for environment {env_name!r}",
                           hint="call harness.clients.tokens.register_token_factory(NAME, factory) in environment.py")
    return factory


def mint(env_name: str, params: Mapping[str, Any], spec: TokenSpec) -> str:
    """A token for the environment ``env_name`` from its registered factory."""
    return token_factory(env_name)(params, spec)


@dataclass(frozen=True)
class Hs256Tokens:
    """HS256 JWTs signed with the secret from the environment parameter ``secret_param``."""

    secret_param: str = "jwt_secret"
    default_tenant: str = "default"
    default_subject: str = "harness"
    ttl: float = 3600.0
    tenant_claim: str = "tenant"
    subject_claim: str = "sub"
    admin_claim: str = "admin"
    extra_claims: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, params: Mapping[str, Any], spec: TokenSpec) -> str:
        """A token for ``spec``, signed with ``params[secret_param]``."""
        secret = params.get(self.secret_param)
        if not secret:
            raise ConfigError(f"the token factory needs the parameter {self.secret_param!r}, which is unset",
                              key=self.secret_param,
                              hint=f"declare `{self.secret_param}: {{default: ..., secret: true}}` under "
                                   "parameters: in the environment's YAML, or register another factory")
        return self.mint(str(secret), spec)

    def claims(self, spec: TokenSpec, now: float | None = None) -> dict[str, Any]:
        """The claims of a token for ``spec`` (expired ones ran out a minute ago)."""
        issued = time.time() if now is None else now
        expires = issued - 60 if spec.flaw == "expired" else issued + self.ttl
        claims = {**self.extra_claims, self.subject_claim: spec.subject or self.default_subject,
                  self.tenant_claim: spec.tenant or self.default_tenant,
                  "iat": int(min(issued, expires) - 1), "exp": int(expires)}
        if spec.admin:
            claims[self.admin_claim] = True
        return claims

    def mint(self, secret: str, spec: TokenSpec, now: float | None = None) -> str:
        """Sign the claims for ``spec`` (with a wrong secret when badly signed)."""
        if spec.flaw == "malformed":
            return "not-a-jwt"
        key = secret + "-but-wrong" if spec.flaw == "badly signed" else secret
        with warnings.catch_warnings():  # test stacks use short secrets on purpose
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            return jwt.encode(self.claims(spec, now), key, algorithm="HS256")


register_token_factory(DEFAULT, Hs256Tokens())


def main(argv: list[str]) -> int:
    """`harness token`: print an HS256 bearer token for a tenant."""
    parser = argparse.ArgumentParser(prog="harness token", description=main.__doc__)
    parser.add_argument("--secret", required=True, help="the HS256 signing secret")
    parser.add_argument("--tenant", default="default", help="the tenant claim (default: default)")
    parser.add_argument("--subject", default="harness", help="the sub claim (default: harness)")
    parser.add_argument("--admin", action="store_true", help="add admin: true")
    parser.add_argument("--ttl", type=float, default=3600.0, help="seconds until it expires (default 3600)")
    parser.add_argument("--flaw", choices=["expired", "badly-signed", "malformed"], default="",
                        help="make a broken token for auth tests")
    args = parser.parse_args(argv)
    factory = Hs256Tokens(ttl=args.ttl)
    spec = TokenSpec(tenant=args.tenant, subject=args.subject, admin=args.admin,
                     flaw=args.flaw.replace("-", " "))
    print(factory.mint(args.secret, spec))
    return 0
