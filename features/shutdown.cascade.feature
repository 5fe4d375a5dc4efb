@integration @p0 @env.minimal @fresh @queen @hive @worker @admin
Feature: cascading shutdown
  An admin's POST /v1/admin/shutdown stops the whole stack in order: each hive stops its workers
  (which finish their in-flight jobs), then the hives leave, then the queen exits; every exit is 0.

  Scenario: an admin shutdown stops workers, then hives, then the queen, finishing the in-flight job
    Given the default service is "queen"
    When I send a POST request to "/v1/inference" as tenant "shutdown" with JSON:
      """
      {"model": "tinyllama", "prompt": "finish me", "max_tokens": 300, "async": true}
      """
    Then the response status is 202
    When I remember the response JSON at "job_id" as "job_id"
    Then within 5 seconds:
      """
      When I send a GET request to "/v1/jobs/{job_id}" as tenant "shutdown"
      Then the response JSON at "state" equals "running"
      """
    # "running" is set when the queen dispatches; wait until the worker has really begun the job
    And within 5 seconds the logs of service "worker-1-1" contain "{job_id}"
    When I send a POST request to "/v1/admin/shutdown" as admin
    Then the response status is 202
    And the response JSON at "status" equals "shutting_down"
    And the response JSON at "hives" equals ["hive-1"]
    When I send a POST request to "/v1/inference" as tenant "shutdown" with JSON:
      """
      {"model": "tinyllama", "prompt": "too late", "max_tokens": 1}
      """
    Then the response status is 503
    And the response JSON at "error.code" equals "shutting_down"
    # the order is checked in the logs below; a worker's process may exit a little after the queen's
    # (it deregisters, then closes), so wait for all three before reading exit codes
    And within 20 seconds:
      """
      Then the service "queen" is not running
      And the service "hive-1" is not running
      And the service "worker-1-1" is not running
      """
    And the exit code of service "worker-1-1" is 0
    And the exit code of service "hive-1" is 0
    And the exit code of service "queen" is 0
    And the logs of service "queen" match ""event": "job_completed", "request_id": "[^"]+", "job_id": "{job_id}".*"tokens": 300"
    And the logs of service "worker-1-1" match "(?s)"event": "job_completed".*"event": "stopped""
    And the logs of service "hive-1" match "(?s)"event": "worker_deregistered".*"worker_id": "worker-1-1".*"event": "stopped""
    And the logs of service "queen" match "(?s)"event": "hive_deregistered".*"hive_id": "hive-1".*"event": "stopped""
