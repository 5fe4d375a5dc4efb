@integration @chaos @p0 @env.full-stack @worker @hive
Feature: a worker stops while it runs a job
  A job in flight when its worker dies fails with a reason that names the worker (its tokens were
  already delivered, so it is not silently re-run); a worker stopped gracefully finishes its job
  first. Either way the job never hangs.

  Background:
    Given the default service is "queen"
    When I send a POST request to "/v1/inference" as tenant "restart" with JSON:
      """
      {"model": "tinyllama", "prompt": "a long story about bees", "max_tokens": 1000, "async": true}
      """
    Then the response status is 202
    When I remember the response JSON at "job_id" as "job_id"
    Then within 10 seconds:
      """
      When I send a GET request to "/v1/jobs/{job_id}" as tenant "restart"
      Then the response JSON at "state" equals "running"
      And the response JSON at "worker_id" is a string
      """
    When I remember the response JSON at "worker_id" as "worker"

  Scenario: a worker killed during inference fails its job with a reason naming it, without a hang
    When {worker} is killed
    Then within 15 seconds:
      """
      When I send a GET request to "/v1/jobs/{job_id}" as tenant "restart"
      Then the response JSON at "state" equals "failed"
      """
    And the response JSON at "reason" contains "{worker}"
    When I send a POST request to "/v1/inference" as tenant "restart" with JSON:
      """
      {"model": "tinyllama", "prompt": "still served", "max_tokens": 4}
      """
    Then the response status is 200

  Scenario: a worker restarted gracefully during inference finishes the job first
    When {worker} is restarted
    Then within 15 seconds:
      """
      When I send a GET request to "/v1/jobs/{job_id}" as tenant "restart"
      Then the response JSON at "state" equals "completed"
      """
    And the response JSON at "tokens" equals 1000
    And the response JSON at "worker_id" equals "{worker}"
    And within 10 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "restart"
      Then the response JSON at "workers" contains {"worker_id": "{worker}", "state": "ready"}
      """
