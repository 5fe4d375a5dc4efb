@integration @websocket @p1 @env.full-stack @queen @worker
Feature: the event channel under faults
  A job whose worker dies mid-inference ends on the subscriber's channel with job_failed (or, before
  the first token, a retried job_started) — never silence. A subscriber whose server goes away sees
  its connection drop instead of waiting forever.

  Background:
    Given the default service is "queen"

  Scenario: a worker killed mid-job produces job_failed on the subscriber, never silence
    When I open a WebSocket "ops" to "/v1/events" as tenant "ws-kill"
    And I send a POST request to "/v1/inference" as tenant "ws-kill" with JSON:
      """
      {"model": "tinyllama", "prompt": "a job that will lose its worker", "max_tokens": 1000, "async": true}
      """
    And I remember the response JSON at "job_id" as "job_id"
    Then at least 3 frames of kind "token" arrive on "ops" where "job_id" is "{job_id}"
    When I remember the first frame of kind "job_started" on "ops" at "worker_id" as "worker"
    And {worker} is killed
    Then the frames on "ops" where "job_id" is "{job_id}" arrive in order: job_queued, job_started, token, job_failed
    And the last frame of kind "job_failed" on "ops" at "reason" contains "{worker}"

  Scenario: a streamed job read in the background ends with job_failed when its worker is killed
    When I subscribe "stream" to the event stream of a POST request to "/v1/inference" as tenant "ws-kill-sse" with JSON:
      """
      {"model": "tinyllama", "prompt": "a stream that will lose its worker", "max_tokens": 1000, "stream": true}
      """
    Then at least 3 frames of kind "token" arrive on "stream"
    When I remember the first frame of kind "job_started" on "stream" at "worker_id" as "worker"
    And {worker} is killed
    Then the frames on "stream" arrive in order: job_started, token, job_failed
    And the last frame of kind "job_failed" on "stream" at "reason" contains "{worker}"

  Scenario: a subscriber sees its connection drop when the queen restarts, and resumes after it
    When I open a WebSocket "ops" to "/v1/events" as tenant "ws-restart"
    And queen is restarted
    Then "ops" drops within 10 s
    And within 20 seconds:
      """
      When I send a GET request to "/health/live"
      Then the response status is 200
      """
    When I reconnect "ops"
    And I send a POST request to "/v1/inference" as tenant "ws-restart" with JSON:
      """
      {"model": "tinyllama", "prompt": "after the restart", "max_tokens": 2}
      """
    And I remember the response JSON at "job_id" as "job_id"
    Then the frames on "ops" where "job_id" is "{job_id}" arrive in order: job_queued, job_started, token, job_completed

  Scenario: a subscriber whose server is cut off the network sees the drop, not silence
    When I open a WebSocket "ops" to "/v1/events" as tenant "ws-cut"
    And queen is disconnected from the network
    Then "ops" drops within 10 s

  # The latency is on everything queen sends to the test machine: the HTTP answer is as late as the frame,
  # so the frame is timed from the request's send (fault-free it comes once the 2-token job is done, ~20 ms).
  Scenario: faults on the subscriber's own link: latency delays its frames, a partition and a reset drop it
    When I open a WebSocket "ops" to "/v1/events" as tenant "ws-edge"
    And the client's link to "queen" has 300 ms of latency
    And I send a POST request to "/v1/inference" as tenant "ws-edge" with JSON:
      """
      {"model": "tinyllama", "prompt": "over a slow link", "max_tokens": 2}
      """
    Then the response status is 200
    And the first frame of kind "job_completed" on "ops" arrives at least 250 ms after the last request was sent
    When the client's link to "queen" heals
    And the client's link to "queen" holds all data
    Then "ops" drops within 5 s
    When the client's link to "queen" heals
    And I reconnect "ops"
    And the client's link to "queen" is reset
    Then "ops" drops within 5 s
