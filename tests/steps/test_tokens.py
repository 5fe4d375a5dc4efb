"""Token factories: the registry, the HS256 factory and its flaws, the CLI."""

from __future__ import annotations

import time

import jwt
import pytest

from harness.clients import tokens
from harness.clients.tokens import Hs256Tokens, TokenSpec
from harness.errors import ConfigError, HarnessError

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def decode(token: str, secret: str = SECRET) -> dict[str, object]:
    return jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "tenant", "exp"]})


def test_hs256_tokens_carry_tenant_subject_and_admin() -> None:
    claims = decode(Hs256Tokens()({"jwt_secret": SECRET}, TokenSpec(tenant="acme", subject="bob", admin=True)))
    assert claims["tenant"] == "acme" and claims["sub"] == "bob" and claims["admin"] is True
    plain = decode(Hs256Tokens(default_tenant="t0")({"jwt_secret": SECRET}, TokenSpec()))
    assert plain["tenant"] == "t0" and plain["sub"] == "harness" and "admin" not in plain


def test_claim_names_secret_parameter_and_extra_claims_are_configurable() -> None:
    factory = Hs256Tokens(secret_param="auth_key", tenant_claim="org", admin_claim="role_admin",
                          extra_claims={"aud": "queen"})
    token = factory({"auth_key": SECRET}, TokenSpec(tenant="acme", admin=True))
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="queen")
    assert claims["org"] == "acme" and claims["role_admin"] is True


@pytest.mark.parametrize(("flaw", "error"), [
    ("expired", jwt.ExpiredSignatureError), ("badly signed", jwt.InvalidSignatureError),
    ("malformed", jwt.DecodeError),
])
def test_flawed_tokens_fail_verification_for_the_named_reason(flaw: str, error: type[Exception]) -> None:
    token = Hs256Tokens()({"jwt_secret": SECRET}, TokenSpec(tenant="acme", flaw=flaw))
    with pytest.raises(error):
        decode(token)


def test_unknown_flaw_and_missing_secret_are_clear() -> None:
    with pytest.raises(HarnessError, match="unknown token flaw 'stale'"):
        TokenSpec(flaw="stale")
    with pytest.raises(ConfigError, match="needs the parameter 'jwt_secret'") as caught:
        Hs256Tokens()({}, TokenSpec())
    assert "secret: true" in str(caught.value)


def test_registry_prefers_the_environments_factory_then_default() -> None:
    tokens.register_token_factory("special-env", lambda params, spec: f"special-{spec.tenant}")
    try:
        assert tokens.mint("special-env", {}, TokenSpec(tenant="t")) == "special-t"
        assert decode(tokens.mint("other-env", {"jwt_secret": SECRET}, TokenSpec(tenant="t")))["tenant"] == "t"
    finally:
        tokens._FACTORIES.pop("special-env")


def test_cli_prints_a_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert tokens.main(["--secret", SECRET, "--tenant", "acme", "--admin", "--ttl", "60"]) == 0
    claims = decode(capsys.readouterr().out.strip())
    assert claims["tenant"] == "acme" and claims["admin"] is True
    assert 0 < int(claims["exp"]) - time.time() <= 61  # type: ignore[call-overload]
    assert tokens.main(["--secret", SECRET, "--flaw", "expired"]) == 0
    with pytest.raises(jwt.ExpiredSignatureError):
        decode(capsys.readouterr().out.strip())


def test_cli_is_registered_as_harness_token() -> None:
    from harness.cli import COMMANDS

    assert COMMANDS["token"][0] == "harness.clients.tokens:main"
