"""HttpClient against a local server: targets, credentials, bodies, timing, error translation."""

from __future__ import annotations

import json
import socket

import httpx
import jwt
import pytest

from harness.clients.http import (
    Credentials,
    HttpClient,
    HttpSettings,
    Request,
    RequestFailed,
    RequestOptions,
    status_matches,
)
from harness.clients.tokens import Hs256Tokens, TokenSpec
from harness.errors import HarnessError, VerificationFailed
from harness.expect import LEDGER

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def make_client(base_url: str, **kwargs: object) -> HttpClient:
    factory = Hs256Tokens()
    return HttpClient(lambda service: base_url, mint=lambda spec: factory({"jwt_secret": SECRET}, spec),
                      **kwargs)  # type: ignore[arg-type]


def test_send_keeps_the_last_response_with_its_time(base_url: str) -> None:
    client = make_client(base_url)
    with pytest.raises(HarnessError, match="no request has been sent"):
        _ = client.last
    response = client.send(Request("GET", "/json", "web"))
    assert client.last is response and response.status == 200 and response.url == base_url + "/json"
    assert response.service == "web" and 0 < response.elapsed_ms < 5000
    assert response.json()["status"] == "ok"


def test_body_headers_query_and_credentials_reach_the_server(base_url: str) -> None:
    client = make_client(base_url)
    echo = client.send(Request("POST", "/echo", "web", Credentials(tenant="acme", admin=True),
                               headers=(("X-Trace", "t-1"),), params=(("q", "a b"),),
                               content='{"n": 1}', json_body=True)).json()
    assert echo["json"] == {"n": 1} and echo["query"] == {"q": "a b"}
    assert echo["headers"]["x-trace"] == "t-1" and echo["headers"]["content-type"] == "application/json"
    claims = jwt.decode(echo["headers"]["authorization"].removeprefix("Bearer "), SECRET, algorithms=["HS256"])
    assert claims["tenant"] == "acme" and claims["admin"] is True


@pytest.mark.parametrize(("credentials", "header"), [
    (Credentials(), None), (Credentials(token="none"), None), (Credentials(tenant="t", token="none"), None),
    (Credentials(token="abc.def"), "Bearer abc.def"), (Credentials(token="malformed"), "Bearer not-a-jwt"),
])
def test_credentials_become_the_authorization_header(credentials: Credentials, header: str | None) -> None:
    factory = Hs256Tokens()
    got = credentials.header(lambda spec: factory({"jwt_secret": SECRET}, spec)).get("Authorization")
    assert got == header


def test_default_service_and_missing_service(base_url: str) -> None:
    seen: list[str] = []
    client = HttpClient(lambda service: seen.append(service) or base_url)  # type: ignore[func-returns-value]
    with pytest.raises(HarnessError, match='Given the default service is "SERVICE"'):
        client.send(Request("GET", "/json"))
    client.default_service = "api"
    client.send(Request("GET", "json"))
    assert seen == ["api"] and client.last.url == base_url + "/json"


def test_connection_refused_is_translated_with_service_url_and_hint() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HttpClient(lambda service: f"http://127.0.0.1:{port}")
    with pytest.raises(RequestFailed) as caught:
        client.send(Request("GET", "/x", "queen"))
    error = caught.value
    assert error.service == "queen" and error.url == f"http://127.0.0.1:{port}/x"
    assert "could not connect" in str(error) and 'the service "queen" is healthy' in str(error)
    assert isinstance(error.__cause__, httpx.ConnectError)


def test_a_timeout_is_translated_and_says_how_to_raise_it(base_url: str) -> None:
    client = make_client(base_url, settings=HttpSettings(request=0.1))
    with pytest.raises(RequestFailed, match=r"got no answer within 0.1 s[\s\S]*-D http_timeout"):
        client.send(Request("GET", "/slow?ms=1000", "web"))


def test_non_json_body_fails_as_a_counted_verification(base_url: str) -> None:
    response = make_client(base_url).send(Request("GET", "/text", "web"))
    LEDGER.take()
    with pytest.raises(VerificationFailed, match=r"not JSON \(text/plain\).*hello world"):
        response.json()
    assert LEDGER.take() == (1, 0)


def test_settings_from_userdata_then_environment() -> None:
    settings = HttpSettings.build({"http_timeout": "5"}, {"HARNESS_STREAM_TIMEOUT": "7", "HARNESS_HTTP_TIMEOUT": "9"})
    assert settings == HttpSettings(request=5.0, stream_total=7.0, stream_idle=30.0)
    with pytest.raises(HarnessError, match="stream_idle_timeout='x' is not a number"):
        HttpSettings.build({"stream_idle_timeout": "x"}, {})


@pytest.mark.parametrize(("tail", "expected"), [
    ("", RequestOptions()),
    (' on "queen"', RequestOptions(service="queen")),
    (' on "q" as tenant "acme" with JSON:', RequestOptions("q", Credentials(tenant="acme"), "JSON")),
    (" as admin", RequestOptions(credentials=Credentials(admin=True))),
    (' as admin of tenant "t" with token "expired"', RequestOptions(credentials=Credentials("t", True, "expired"))),
    (' with token "none" with headers:', RequestOptions(credentials=Credentials(token="none"), data="headers")),
    (' on "q" until "done, failed" with body:', RequestOptions("q", data="body", until=frozenset({"done", "failed"}))),
])
def test_request_options_grammar(tail: str, expected: RequestOptions) -> None:
    assert RequestOptions.parse(tail) == expected


def test_status_classes() -> None:
    assert status_matches(201, "201") and status_matches(204, "2xx") and not status_matches(301, "2xx")
    assert not status_matches(200, "201")


def test_token_spec_reaches_the_factory(base_url: str) -> None:
    specs: list[TokenSpec] = []
    client = HttpClient(lambda s: base_url, mint=lambda spec: specs.append(spec) or "tok")  # type: ignore[func-returns-value]
    echo = client.send(Request("GET", "/echo", "web", Credentials(tenant="acme", token="badly signed"))).json()
    assert specs == [TokenSpec(tenant="acme", flaw="badly signed")]
    assert echo["headers"]["authorization"] == "Bearer tok" and json.dumps(echo)
