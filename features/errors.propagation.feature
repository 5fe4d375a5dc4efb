@integration @p1 @env.full-stack @queen @hive @worker
Feature: errors propagate from the worker to the client with the request id
  A worker failure reaches the client as a job_failed event (or a 502) that carries the request's
  X-Request-ID, and the same id is in the logs of the queen, the hive and the worker.

  Background:
    Given the default service is "queen"

  Scenario: a worker failure in a stream reaches the client as job_failed, traceable by request id
    When I stream a POST request to "/v1/inference" as tenant "errors" with JSON:
      """
      {"model": "tinyllama", "prompt": "please __fail__ now", "max_tokens": 5, "stream": true}
      """
    Then the response status is 200
    And the events arrive in order: job_started, token, job_failed
    And the last event is of kind "job_failed"
    And the last event of kind "job_failed" at "reason" equals "simulated failure (__fail__ in prompt)"
    And every event carries "request_id"
    When I remember the response header "X-Request-ID" as "rid"
    And I remember the last event of kind "job_failed" at "job_id" as "job_id"
    And I remember the last event of kind "job_failed" at "hive_id" as "hive"
    And I remember the last event of kind "job_failed" at "worker_id" as "worker"
    Then the last event of kind "job_failed" at "request_id" equals "{rid}"
    And the first event of kind "job_started" at "request_id" equals "{rid}"
    And the logs of service "queen" match ""event": "job_failed", "request_id": "{rid}", "job_id": "{job_id}""
    And the logs of service "{hive}" contain ""request_id": "{rid}", "job_id": "{job_id}""
    And the logs of service "{worker}" match ""event": "job_failed", "request_id": "{rid}", "job_id": "{job_id}""
    When I send a GET request to "/v1/jobs/{job_id}" as tenant "errors"
    Then the response JSON at "state" equals "failed"
    And the response JSON at "reason" contains "simulated failure"

  Scenario: a worker failure in a plain request is a 502 job_failed with the job and request id
    When I send a POST request to "/v1/inference" as tenant "errors" with JSON:
      """
      {"model": "tinyllama", "prompt": "__fail__", "max_tokens": 5}
      """
    Then the response status is 502
    And the response JSON at "error.code" equals "job_failed"
    And the response JSON at "error.message" contains "simulated failure"
    And the response JSON at "state" equals "failed"
    And the response JSON at "worker_id" matches "^worker-"
    When I remember the response header "X-Request-ID" as "rid"
    And I remember the response JSON at "job_id" as "job_id"
    Then the logs of service "queen" match ""event": "job_failed", "request_id": "{rid}", "job_id": "{job_id}""

  Scenario: a request id chosen by the client is kept and logged
    When I send a GET request to "/v1/jobs" as tenant "errors" with headers:
      | name         | value                  |
      | X-Request-ID | client-trace-0042.a:b  |
    Then the response status is 200
    And the response header "X-Request-ID" is "client-trace-0042.a:b"
    And within 3 seconds the logs of service "queen" contain ""request_id": "client-trace-0042.a:b""
