@integration @p0 @env.full-stack @queen @hive @worker
Feature: complete inference flow through queen, hive and worker
  A client asks the queen for an inference; the queen dispatches it to a hive, the hive to one of
  its workers, and the answer comes back either whole or as an event stream.

  Background:
    Given the default service is "queen"

  Scenario: a plain inference returns the text with the job, worker and hive that ran it
    When I send a POST request to "/v1/inference" as tenant "flow" with JSON:
      """
      {"model": "tinyllama", "prompt": "hello hive", "max_tokens": 5}
      """
    Then the response status is 200
    And the response JSON at "state" equals "completed"
    And the response JSON at "job_id" matches "^job-[0-9a-f]{16}$"
    And the response JSON at "text" matches "^\S+( \S+){4}$"
    And the response JSON at "tokens" equals 5
    And the response JSON at "usage.completion_tokens" equals 5
    And the response JSON at "worker_id" matches "^worker-[12]-[12]$"
    And the response JSON at "hive_id" matches "^hive-[12]$"
    And the response header "X-Request-ID" exists
    When I remember the response JSON at "worker_id" as "worker_id"
    And I remember the response JSON at "hive_id" as "hive_id"
    And I send a GET request to "/v1/workers" as tenant "flow"
    Then the response JSON at "workers" contains {"worker_id": "{worker_id}", "hive_id": "{hive_id}"}

  Scenario: a streamed inference delivers ordered events, each naming the job
    When I stream a POST request to "/v1/inference" as tenant "flow" with JSON:
      """
      {"model": "tinyllama", "prompt": "stream me", "max_tokens": 6, "stream": true}
      """
    Then the response status is 200
    And the response header "Content-Type" contains "text/event-stream"
    And the events arrive in order: job_started, token, job_completed
    And 6 events of kind "token" arrived
    And every event carries "job_id"
    And every event carries "worker_id"
    And every event carries "hive_id"
    When I remember the first event of kind "job_started" at "job_id" as "job_id"
    Then the last event of kind "token" at "job_id" equals "{job_id}"
    And the last event of kind "token" at "index" equals 5
    And the last event of kind "job_completed" at "job_id" equals "{job_id}"
    And the last event of kind "job_completed" at "usage.completion_tokens" equals 6

  Scenario: the same model, prompt and seed always give the same text
    When I send a POST request to "/v1/inference" as tenant "flow" with JSON:
      """
      {"model": "tinyllama", "prompt": "determinism", "max_tokens": 8, "seed": 42}
      """
    Then the response status is 200
    When I remember the response JSON at "text" as "first_text"
    And I send a POST request to "/v1/inference" as tenant "flow" with JSON:
      """
      {"model": "tinyllama", "prompt": "determinism", "max_tokens": 8, "seed": 42}
      """
    Then the response status is 200
    And the response JSON at "text" equals "{first_text}"
    When I send a POST request to "/v1/inference" as tenant "flow" with JSON:
      """
      {"model": "tinyllama", "prompt": "determinism", "max_tokens": 12, "seed": 42}
      """
    Then the response status is 200
    And the response JSON at "text" contains "{first_text} "

  Scenario: a finished job can be read back by its id
    When I send a POST request to "/v1/inference" as tenant "flow" with JSON:
      """
      {"model": "tinyllama", "prompt": "keep me", "max_tokens": 3}
      """
    Then the response status is 200
    When I remember the response JSON at "job_id" as "job_id"
    And I remember the response JSON at "text" as "text"
    And I send a GET request to "/v1/jobs/{job_id}" as tenant "flow"
    Then the response status is 200
    And the response JSON has:
      | path     | value       |
      | job_id   | "{job_id}"  |
      | state    | "completed" |
      | text     | "{text}"    |
      | tokens   | 3           |
