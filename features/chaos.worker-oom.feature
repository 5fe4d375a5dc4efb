@integration @chaos @p1 @env.oom @worker @hive
Feature: a worker runs out of memory
  Workers run under a memory limit. One that cannot fit its model dies while loading and never
  joins; one that outgrows the limit during inference is OOM-killed, its job fails with a reason
  that names it, and the hive drops it.

  Scenario: a worker OOM-killed while loading its model never joins; the other worker serves
    When worker-1-2 is stopped
    And worker-1-2's memory is limited to 40 MB
    And worker-1-2 is started
    Then within 15 seconds:
      """
      Then the service "worker-1-2" is not running
      """
    And worker-1-2 was killed for running out of memory
    And the logs of service "worker-1-2" contain ""event": "model_loading"" exactly 2 times
    And the logs of service "worker-1-2" contain ""event": "model_loaded"" exactly 1 times
    And within 10 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 1 items
      And the response JSON at "workers" contains {"worker_id": "worker-1-1"}
      """
    When I send a POST request to "/v1/inference" on "queen" as tenant "oom" with JSON:
      """
      {"model": "tinyllama", "prompt": "fits in memory", "max_tokens": 4}
      """
    Then the response status is 200
    And the response JSON at "worker_id" equals "worker-1-1"

  @fresh
  Scenario: a worker OOM-killed during inference fails the job with a reason and is dropped
    When I stream a POST request to "/v1/inference" on "queen" as tenant "oom" with JSON:
      """
      {"model": "tinyllama", "prompt": "grow __alloc__ beyond the limit", "max_tokens": 50, "stream": true}
      """
    Then the last event is of kind "job_failed"
    When I remember the first event of kind "job_started" at "worker_id" as "worker"
    And I remember the first event of kind "job_started" at "job_id" as "job_id"
    Then {worker} was killed for running out of memory
    When I send a GET request to "/v1/jobs/{job_id}" on "queen" as tenant "oom"
    Then the response JSON at "state" equals "failed"
    And the response JSON at "worker_id" equals "{worker}"
    And the response JSON at "reason" matches "worker-1-[12] stream broke .* after \d+ tokens"
    And within 10 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 1 items
      """
