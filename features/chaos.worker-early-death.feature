@integration @chaos @p1 @env.full-stack @worker @hive
Feature: a worker dies before its first token
  A worker that dies before it sent a token has delivered nothing, so its hive retries the job on
  another of its workers at once: the client gets the whole answer and the queen never sees a
  failed attempt (the job's attempts stay 0).

  Scenario: a worker that dies before its first token is replaced by another worker of the same hive
    Given the default service is "queen"
    # steady state first: every worker ready, so the crashed one's hive has another to retry on
    And within 20 seconds, for 1 seconds in a row:
      """
      When I send a GET request to "/v1/workers" as tenant "early"
      Then the response JSON at "workers" has 4 items matching {"state": "ready"}
      """
    When I send a POST request to "/v1/inference" as tenant "early" with JSON:
      """
      {"model": "tinyllama", "prompt": "die early __crash_early__", "max_tokens": 4}
      """
    Then the response status is 200
    And the response JSON at "tokens" equals 4
    When I remember the response JSON at "job_id" as "job_id"
    And I remember the response JSON at "hive_id" as "hive"
    Then the logs of service "{hive}" match ""event": "attempt_failed".*"job_id": "{job_id}""
    When I send a GET request to "/v1/jobs/{job_id}" as tenant "early"
    Then the response JSON at "attempts" equals 0
    When worker-* is started
    Then within 15 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "early"
      Then the response JSON at "workers" has 4 items
      And the response JSON at "workers" contains {"worker_id": "worker-1-1", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-1-2", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-2-1", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-2-2", "state": "ready"}
      """
