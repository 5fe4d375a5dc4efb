@integration @websocket @p0 @env.full-stack @queen
Feature: job events on the queen's WebSocket channel
  A tenant's WebSocket on GET /v1/events receives the events of its own jobs only — job_queued,
  job_started, token x n, then job_completed or job_failed — each with job_id, seq (per tenant,
  increasing) and request_id. A subscriber that reconnects with ?since=<seq> gets every event it
  missed, once. A bad token is refused at the handshake with 401 and a reason.

  Background:
    Given the default service is "queen"

  Scenario: a plain job's five events arrive in order, each with job_id, seq and request_id
    When I open a WebSocket "acme" to "/v1/events" as tenant "ws-plain"
    And I send a POST request to "/v1/inference" as tenant "ws-plain" with JSON:
      """
      {"model": "tinyllama", "prompt": "events please", "max_tokens": 3}
      """
    Then the response status is 200
    When I remember the response JSON at "job_id" as "job_id"
    And I remember the response header "X-Request-ID" as "request_id"
    Then the frames on "acme" where "job_id" is "{job_id}" arrive in order: job_queued, job_started, token, job_completed
    And 3 frames of kind "token" arrive on "acme" where "job_id" is "{job_id}"
    And every frame on "acme" carries "seq"
    And every frame on "acme" carries "request_id"
    And the frames on "acme" have consecutive values at "seq"
    And the first frame of kind "job_started" on "acme" at "request_id" equals "{request_id}"
    And the last frame of kind "job_completed" on "acme" at "usage.completion_tokens" equals 3

  Scenario: a streamed job's events reach the WebSocket as they reach the stream
    When I open a WebSocket "acme" to "/v1/events" as tenant "ws-stream"
    And I stream a POST request to "/v1/inference" as tenant "ws-stream" with JSON:
      """
      {"model": "tinyllama", "prompt": "stream and channel", "max_tokens": 4, "stream": true}
      """
    Then the events arrive in order: job_started, token, job_completed
    When I remember the first event of kind "job_started" at "job_id" as "job_id"
    Then the frames on "acme" where "job_id" is "{job_id}" arrive in order: job_queued, job_started, token, job_completed
    And 4 frames of kind "token" arrive on "acme" where "job_id" is "{job_id}"
    And the last frame of kind "token" on "acme" at "index" equals 3
    And the frames on "acme" have consecutive values at "seq"

  Scenario: two tenants' subscribers each see their own jobs only
    When I open a WebSocket "alpha" to "/v1/events" as tenant "ws-iso-a"
    And I open a WebSocket "beta" to "/v1/events" as tenant "ws-iso-b"
    And I send a POST request to "/v1/inference" as tenant "ws-iso-a" with JSON:
      """
      {"model": "tinyllama", "prompt": "alpha's job", "max_tokens": 2}
      """
    And I remember the response JSON at "job_id" as "a_job"
    And I send a POST request to "/v1/inference" as tenant "ws-iso-b" with JSON:
      """
      {"model": "tinyllama", "prompt": "beta's job", "max_tokens": 2}
      """
    And I remember the response JSON at "job_id" as "b_job"
    Then the frames on "alpha" where "job_id" is "{a_job}" arrive in order: job_queued, job_started, token, job_completed
    And the frames on "beta" where "job_id" is "{b_job}" arrive in order: job_queued, job_started, token, job_completed
    And no frame arrives on "alpha" where "job_id" is "{b_job}" within 0.5 s
    And no frame arrives on "beta" where "job_id" is "{a_job}" within 0.5 s

  Scenario: a subscriber that was away mid-job resumes with since and misses nothing, twice nothing
    When I open a WebSocket "agent" to "/v1/events" as tenant "ws-resume"
    And I send a POST request to "/v1/inference" as tenant "ws-resume" with JSON:
      """
      {"model": "tinyllama", "prompt": "a long answer while I am away", "max_tokens": 300, "async": true}
      """
    And I remember the response JSON at "job_id" as "job_id"
    Then at least 5 frames of kind "token" arrive on "agent"
    When I close "agent"
    And I remember the last frame of kind "token" on "agent" at "seq" as "seen"
    Then within 10 seconds:
      """
      When I send a GET request to "/v1/jobs/{job_id}" as tenant "ws-resume"
      Then the response JSON at "state" equals "completed"
      """
    When I reconnect "agent" with "since" = "{seen}"
    Then the frames on "agent" arrive in order: job_queued, job_started, token, job_completed
    And 300 frames of kind "token" arrive on "agent"
    And the frames on "agent" have consecutive values at "seq"

  Scenario: another client's subscriber sees job_completed within 50 ms of the HTTP answer
    When I open a WebSocket "watcher" to "/v1/events" as tenant "ws-watch"
    And I send a POST request to "/v1/inference" as tenant "ws-watch" with JSON:
      """
      {"model": "tinyllama", "prompt": "who is watching", "max_tokens": 3}
      """
    Then the response status is 200
    And the first frame of kind "job_completed" on "watcher" arrives within 50 ms of the last response

  Scenario Outline: a bad token is refused at the handshake with 401 and the reason <code>
    When I try to open a WebSocket "eve" to "/v1/events" with token "<token>"
    Then the WebSocket "eve" handshake status is 401
    And the WebSocket "eve" handshake answer contains "<code>"

    Examples:
      | token        | code            |
      | expired      | token_expired   |
      | badly signed | bad_signature   |
      | none         | missing_token   |
