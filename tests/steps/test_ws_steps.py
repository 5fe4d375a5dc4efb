"""The WebSocket and background-subscription steps against a local aiohttp server (no Docker)."""

from __future__ import annotations

import asyncio
import json
import runpy
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from harness.clients import http, transient, ws
from harness.clients.ws import ChannelError, ConnectionRefused
from harness.env.config import Settings
from harness.errors import HarnessError, VerificationFailed
from harness.expect import LEDGER
from harness.run.session import Environments, Session
from tests.steps.kit import REPO, STEP_MODULES, FakeContext, FakeEnv, run

JOB = [{"type": "job_queued"}, {"type": "job_started"}, {"type": "token", "index": 0},
       {"type": "token", "index": 1}, {"type": "job_completed", "usage": {"completion_tokens": 2}}]


async def _ws(request: web.Request) -> web.StreamResponse:
    if "status" in request.query:  # a proxy in front of a restarting server (503), or a refusal (401)
        return web.Response(status=int(request.query["status"]), text="answered by the test")
    if not request.headers.get("Authorization", "").startswith("Bearer ey"):
        return web.json_response({"error": {"code": "missing_token"}}, status=401)
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    since = int(request.query.get("since", "0"))
    upto = int(request.query.get("first", "5")) if "since" not in request.query else 5
    for seq, frame in enumerate(JOB[since:upto] if "emit" in request.query else [], since + 1):
        await ws.send_str(json.dumps({**frame, "seq": seq, "job_id": request.query["emit"], "request_id": "r"}))
    async for message in ws:
        command = json.loads(message.data) if message.data.startswith("{") else {"echo": message.data}
        if "echo" in command:
            await ws.send_str(message.data if command["echo"] == "raw" else json.dumps({"type": "echo", **command}))
        elif command.get("close"):
            await ws.close(code=command["close"])
        elif command.get("cut"):
            assert request.transport is not None
            request.transport.abort()
        elif command.get("end"):  # the last frame, then a FIN: a normal end without a close frame
            assert request.transport is not None
            await ws.send_str(json.dumps({"type": "last"}))
            request.transport.close()
        elif command.get("reset"):  # an RST: the connection cut under both ends
            assert request.transport is not None
            request.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                                  struct.pack("ii", 1, 0))
            request.transport.abort()
    return ws


async def _sse(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    body = await request.text()
    for kind in ("job_started", "token", "job_completed"):
        await response.write(f"event: {kind}\ndata: {json.dumps({'job_id': 'j9', 'body': body})}\n\n".encode())
        await asyncio.sleep(0.01)
    await response.write_eof()
    return response


@pytest.fixture(scope="module")
def ws_url() -> Iterator[str]:
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/ws", _ws)
    app.router.add_post("/sse", _sse)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def context(tmp_path: Path, ws_url: str) -> Iterator[Any]:
    from behave.step_registry import registry

    registry.clear()
    for name in (*STEP_MODULES, "ws_steps", "fault_steps"):
        runpy.run_path(str(REPO / "harness" / "stepdefs" / f"{name}.py"), run_name=f"generic_steps.{name}")
    settings = Settings(root=tmp_path)
    session = Session(settings, Environments(settings, "run", {}))
    session._env = FakeEnv(ws_url)  # type: ignore[assignment]
    session.userdata.update(ws_timeout="2")
    LEDGER.take()
    yield FakeContext(session)
    session.end_scenario()


def test_a_websocket_receives_frames_in_order_and_every_check_passes(context: Any) -> None:
    counts = run(context, 'When I open a WebSocket "alice" to "/ws?emit=j1" on "web" as tenant "acme"')
    assert counts == (1, 1)
    run(context, '''
        Then the frames on "alice" arrive in order: job_queued, job_started, token, job_completed
        And the frames on "alice" where "job_id" is "j1" arrive in order: job_queued, job_started, token, job_completed
        And 2 frames of kind "token" arrive on "alice"
        And at least 1 frames of kind "job_completed" arrive on "alice"
        And every frame on "alice" carries "request_id"
        And the last frame of kind "job_completed" on "alice" at "usage.completion_tokens" equals 2
        And the first frame of kind "token" on "alice" at "index" equals 0
        And the first frame on "alice" arrives within 2000 ms
        And the frames on "alice" have consecutive values at "seq"
        And no frame arrives on "alice" where "job_id" is "other" within 0.2 s
        When I remember the last frame of kind "token" on "alice" at "seq" as "last_seq"
        ''')
    assert context.harness.recall("last_seq") == 4


def test_sending_text_and_json_frames_with_interpolation(context: Any) -> None:
    context.harness.remember("who", "bob")
    run(context, '''
        When I open a WebSocket "alice" to "/ws" on "web" as tenant "acme"
        And I send a JSON frame on "alice":
          """
          {"echo": "{who}"}
          """
        Then the first frame of kind "echo" on "alice" at "echo" equals "bob"
        ''')


def test_reconnect_with_since_resumes_without_loss_or_duplicates(context: Any) -> None:
    run(context, '''
        When I open a WebSocket "alice" to "/ws?emit=j1&first=2" on "web" as tenant "acme"
        Then at least 1 frames of kind "job_started" arrive on "alice"
        When I remember the last frame of kind "job_started" on "alice" at "seq" as "seen"
        And I reconnect "alice" with "since" = "{seen}"
        Then the frames on "alice" arrive in order: job_queued, job_started, token, job_completed
        And the frames on "alice" have consecutive values at "seq"
        ''')


def test_a_refused_handshake_is_a_clear_failure_not_a_hang(context: Any) -> None:
    with pytest.raises(ConnectionRefused) as caught:
        run(context, 'When I open a WebSocket "eve" to "/ws" on "web" with token "none"')
    assert caught.value.status == 401 and "missing_token" in str(caught.value)
    run(context, '''
        When I try to open a WebSocket "eve" to "/ws" on "web" with token "none"
        Then the WebSocket "eve" handshake status is 401
        And the WebSocket "eve" handshake answer contains "missing_token"
        ''')


def test_close_codes_and_drops_are_seen(context: Any) -> None:
    run(context, '''
        When I open a WebSocket "a" to "/ws" on "web" as tenant "acme"
        And I send a JSON frame on "a":
          """
          {"close": 4001}
          """
        Then "a" is closed with code 4001
        When I open a WebSocket "b" to "/ws" on "web" as tenant "acme"
        And I send a JSON frame on "b":
          """
          {"cut": true}
          """
        Then "b" drops within 2 s
        When I open a WebSocket "c" to "/ws" on "web" as tenant "acme"
        And I close "c"
        Then "c" is closed with code 1000
        ''')
    with pytest.raises(VerificationFailed, match='"c" .* is closed with code 1000: closed by the scenario'):
        run(context, 'Then "c" drops within 0.1 s')
    with pytest.raises(ChannelError, match="cannot send on"):
        run(context, 'When I send a text frame on "c":\n  """\n  hi\n  """')


@pytest.mark.parametrize(("check", "message"), [
    ('Then the frames on "alice" arrive in order: job_queued, job_completed',
     "expected job_completed at step 2 of the order, got event #2: job_started"),
    ('Then 3 frames of kind "token" arrive on "alice"', "frames of kind 'token' on \"alice\""),
    ('Then no frame of kind "token" arrives on "alice" within 0.5 s', "a frame of kind 'token' arrived"),
    ('Then the first frame of kind "token" on "alice" at "index" equals 7', "expected 7, got 0"),
    ('Then the first frame of kind "job_failed" on "alice" at "reason" equals "x"',
     "no frame of kind 'job_failed' arrived on \"alice\" within 2 s"),
    ('Then every frame on "alice" carries "usage"', "4 of 5 frames on \"alice\" lack 'usage'"),
])
def test_failing_frame_checks_say_what_arrived(context: Any, check: str, message: str) -> None:
    run(context, 'When I open a WebSocket "alice" to "/ws?emit=j1" on "web" as tenant "acme"\n'
                 'Then at least 1 frames of kind "job_completed" arrive on "alice"')
    with pytest.raises(VerificationFailed) as caught:
        run(context, check)
    assert message in str(caught.value)
    assert 'WebSocket "alice"' in str(caught.value) or "frame" in str(caught.value)


def test_an_unknown_connection_and_a_frame_that_is_not_json_are_named(context: Any) -> None:
    with pytest.raises(HarnessError, match='no connection named "bob" in this scenario \\(open so far: none\\)'):
        run(context, 'Then every frame on "bob" carries "seq"')
    run(context, '''
        When I open a WebSocket "alice" to "/ws" on "web" as tenant "acme"
        And I send a text frame on "alice":
          """
          raw
          """
        ''')
    context.harness.extension("ws", lambda: None).kind_path = "echo"
    with pytest.raises(VerificationFailed, match="frame #1 'raw' is not JSON, so it has no value at 'seq'"):
        run(context, 'Then the frames on "alice" have consecutive values at "seq"')


def test_a_background_sse_subscription_is_checked_with_the_same_steps(context: Any) -> None:
    run(context, '''
        When I subscribe "feed" to the event stream of a POST request to "/sse" on "web" with JSON:
          """
          {"x": 1}
          """
        Then the frames on "feed" arrive in order: job_started, token, job_completed
        And the last frame of kind "job_completed" on "feed" at "body" equals "{\\"x\\": 1}"
        And every frame on "feed" carries "job_id"
        ''')
    channel = context.harness.extension("ws", lambda: None).get("feed")
    assert channel.wait_ended(2) and channel.state == "closed"


def test_a_frame_within_ms_of_the_last_response(context: Any) -> None:
    run(context, '''
        When I open a WebSocket "w" to "/ws" on "web" as tenant "acme"
        And I send a GET request to "/echo" on "web"
        And I send a JSON frame on "w":
          """
          {"echo": "done"}
          """
        Then the first frame of kind "echo" on "w" arrives within 1000 ms of the last response
        ''')
    with pytest.raises(VerificationFailed, match="after the last response, not within 0 ms"):
        run(context, '''
            When I send a GET request to "/echo" on "web"
            And I send a JSON frame on "w":
              """
              {"echo": "late"}
              """
            Then the first frame of kind "echo" on "w" where "echo" is "late" arrives within 0 ms of the last response
            ''')


def test_a_frame_at_least_ms_after_the_last_request_was_sent(context: Any) -> None:
    run(context, '''
        When I open a WebSocket "w" to "/ws" on "web" as tenant "acme"
        And I send a GET request to "/echo" on "web"
        And I send a JSON frame on "w":
          """
          {"echo": "now"}
          """
        Then the first frame of kind "echo" on "w" arrives at least 0 ms after the last request was sent
        ''')
    with pytest.raises(VerificationFailed, match="after the last request was sent, sooner than 5000 ms"):
        run(context, 'Then the first frame of kind "echo" on "w" arrives at least 5000 ms after the last request '
                     "was sent")


def test_headers_and_query_tables_reach_the_handshake(context: Any) -> None:
    run(context, '''
        When I open a WebSocket "q" to "/ws" on "web" as tenant "acme" with query:
          | name | value |
          | emit | j7    |
        Then the first frame of kind "job_queued" on "q" at "job_id" equals "j7"
        When I try to open a WebSocket "h" to "/ws" on "web" with headers:
          | name          | value      |
          | Authorization | Bearer bad |
        Then the WebSocket "h" handshake status is 401
        ''')


def test_faults_on_the_clients_own_edge_behave_as_they_say(context: Any) -> None:
    context.harness.userdata.update(ws_heartbeat="0.8")  # a pong may take 0.4 s: more than the 300 ms latency
    run(context, '''
        When I open a WebSocket "slow" to "/ws" on "web" as tenant "acme"
        And the client's link to "web" has 300 ms of latency
        And I send a GET request to "/echo" on "web"
        And I send a JSON frame on "slow":
          """
          {"echo": "late"}
          """
        Then the first frame of kind "echo" on "slow" arrives at least 250 ms after the last response
        And the first frame of kind "echo" on "slow" arrives at least 550 ms after the last request was sent
        When the client's link to "web" heals
        And I open a WebSocket "cut" to "/ws" on "web" as tenant "acme"
        And the client's link to "web" holds all data
        Then "cut" drops within 3 s
        When the client's link to "web" heals
        And I open a WebSocket "reset" to "/ws" on "web" as tenant "acme"
        And the client's link to "web" is reset
        Then "reset" drops within 2 s
        ''')
    channels = context.harness.extension("ws", lambda: None)
    assert channels.get("cut").close_code == 1006 and "ServerTimeoutError" in channels.get("cut").detail
    assert channels.get("reset").state == "dropped"


def test_faults_on_the_clients_edge_are_on_the_fault_stack_and_undone_with_it(context: Any) -> None:
    run(context, '''
        When the client's link to "web" has 300 ms of latency
        And the client's link to "web" holds all data
        And the client's link to "web" heals
        And the client's link to "web" is reset
        ''')
    stack = context.harness.faults
    proxy = context.harness.extension("links", lambda: None).proxies["web"]
    assert [f.describe() for f in stack.active] == ["reset on the client's link to web"]
    assert [t.type for t in proxy.toxics.values()] == ["reset_peer"]
    stack.revert_all()  # what the end of the scenario does
    assert proxy.toxics == {}
    assert [(e.action, e.what, e.target) for e in stack.timeline.events] == [
        ("inject", "300 ms latency on the client's link to web", "client -> web"),
        ("inject", "partition (all data held) on the client's link to web", "client -> web"),
        ("revert", "partition (all data held) on the client's link to web", "client -> web"),
        ("revert", "300 ms latency on the client's link to web", "client -> web"),
        ("inject", "reset on the client's link to web", "client -> web"),
        ("revert", "reset on the client's link to web", "client -> web"),
    ]


def test_client_link_latency_reaches_plain_http_with_no_proxy_step_and_the_undo_restores_it(context: Any) -> None:
    env = context.harness.env
    run(context, 'When I send a GET request to "/ws" on "web"')
    direct = context.harness.extension("http", lambda: None).last
    run(context, 'When the client\'s link to "web" has 300 ms of latency\nAnd I send a GET request to "/ws" on "web"')
    slowed = context.harness.extension("http", lambda: None).last
    assert slowed.elapsed_ms >= 280 > direct.elapsed_ms, (direct.elapsed_ms, slowed.elapsed_ms)
    assert slowed.url != direct.url and env.routes["web"] in slowed.url  # through the link's loopback proxy
    run(context, 'When the client\'s link to "web" heals\nAnd I send a GET request to "/ws" on "web"')
    assert context.harness.extension("http", lambda: None).last.elapsed_ms < 200
    context.harness.end_scenario()
    assert env.routes == {}  # the scenario's end routes the service straight again


def test_the_old_proxy_step_is_a_harmless_alias(context: Any) -> None:
    assert run(context, 'Given WebSockets to "web" go through a fault proxy') == (1, 0)
    assert "web" in context.harness.extension("links", lambda: None).proxies


@pytest.mark.parametrize(("written", "shown"), [('"tick"', '"tick"'), ("3", "3"), ("true", "true")])
def test_a_failure_quotes_a_selections_value_once(context: Any, written: str, shown: str) -> None:
    """Regression: `where "type" is "\\"tick\\""` (the written value quoted again as JSON)."""
    run(context, 'When I open a WebSocket "alice" to "/ws?emit=j1" on "web" as tenant "acme"\n'
                 'Then at least 1 frames of kind "job_completed" arrive on "alice"')
    with pytest.raises(VerificationFailed) as caught:
        run(context, f'Then every frame on "alice" where "type" is {written} carries "usage"')
    assert f'on "alice" where "type" is {shown}' in str(caught.value), str(caught.value)
    assert '\\"' not in str(caught.value)


@pytest.mark.parametrize(("command", "saw"), [
    ('{"close": 4001}', "with code 4001: close code 4001 (the server's close frame)"),
    ('{"end": true}', "dropped with code 1006: no close frame (code 1006): the server ended the connection after "
                      "its last frame"),
    ('{"reset": true}', "dropped with code 1006: no close frame (code 1006): the connection was cut "
                        "(ConnectionResetError"),
])
def test_a_drop_says_whether_the_server_ended_or_the_connection_was_cut(context: Any, command: str,
                                                                         saw: str) -> None:
    run(context, f'''
        When I open a WebSocket "a" to "/ws" on "web" as tenant "acme"
        And I send a JSON frame on "a":
          """
          {command}
          """
        Then "a" drops within 2 s
        ''')
    with pytest.raises(VerificationFailed) as caught:
        run(context, 'Then "a" is closed with code 1000')
    assert saw in str(caught.value), str(caught.value)


def test_within_retries_a_websocket_refused_while_the_service_restarts(context: Any) -> None:
    env = context.harness.env
    good, env.base_url = env.base_url, "http://127.0.0.1:9"  # refused, as while a service restarts

    def back() -> None:
        time.sleep(0.4)
        env.base_url = good
    threading.Thread(target=back, daemon=True).start()
    run(context, 'Then within 5 seconds:\n"""\n'
                 'When I open a WebSocket "alice" to "/ws?emit=j1" on "web" as tenant "acme"\n"""')
    assert ws.channels(context.harness).get("alice").state == ws.OPEN


def test_a_handshake_answered_503_is_retried_and_401_is_not(context: Any) -> None:
    channels = ws.channels(context.harness)
    with pytest.raises(ws.ConnectionRefused) as refused:
        channels.open_ws("m", http.Request("GET", "/ws?status=503", "web"))
    assert transient.is_transient(refused.value)
    with pytest.raises(ws.ConnectionRefused) as denied:
        channels.open_ws("m", http.Request("GET", "/ws?status=401", "web"))
    assert not transient.is_transient(denied.value)
