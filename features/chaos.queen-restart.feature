@integration @chaos @p0 @env.full-stack @queen @hive
Feature: the queen is killed while hives and workers are active
  The hives keep heartbeating and are registered again; finished results are read back from the
  queen's database, and a job that was running when the queen died (SIGKILL: no drain, no goodbye)
  is recovered from the database and run again to completion.

  Scenario: a job running when the queen is killed is recovered after the restart and completes
    Given the default service is "queen"
    When I send a POST request to "/v1/inference" as tenant "durable" with JSON:
      """
      {"model": "tinyllama", "prompt": "remember me", "max_tokens": 5}
      """
    Then the response status is 200
    When I remember the response JSON at "job_id" as "done_job"
    And I remember the response JSON at "text" as "done_text"
    And I send a POST request to "/v1/inference" as tenant "durable" with JSON:
      """
      {"model": "tinyllama", "prompt": "in flight across the restart", "max_tokens": 600, "async": true}
      """
    Then the response status is 202
    When I remember the response JSON at "job_id" as "running_job"
    Then within 5 seconds:
      """
      When I send a GET request to "/v1/jobs/{running_job}" as tenant "durable"
      Then the response JSON at "state" equals "running"
      """
    When queen is killed
    And queen is started
    Then within 15 seconds:
      """
      When I send a GET request to "/v1/hives" as tenant "durable"
      Then the response JSON at "hives" contains {"hive_id": "hive-1", "state": "ready"}
      And the response JSON at "hives" contains {"hive_id": "hive-2", "state": "ready"}
      """
    When I send a GET request to "/v1/jobs/{done_job}" as tenant "durable"
    Then the response JSON at "state" equals "completed"
    And the response JSON at "text" equals "{done_text}"
    And the logs of service "queen" match ""event": "job_recovered".*"job_id": "{running_job}""
    And within 20 seconds:
      """
      When I send a GET request to "/v1/jobs/{running_job}" as tenant "durable"
      Then the response JSON at "state" equals "completed"
      """
    And the response JSON at "tokens" equals 600
