@integration @chaos @p0 @env.full-stack @queen @hive
Feature: a partition between the queen and its hives
  While no hive can be reached the queen accepts jobs into its queue; when the partition heals the
  hives re-register and every queued job completes. None is lost.

  Background:
    Given the default service is "queen"

  Scenario: jobs accepted during the partition wait in the queue and complete after the heal
    When the network between queen and hive-* is partitioned
    Then within 10 seconds:
      """
      When I send a GET request to "/v1/hives" as tenant "split"
      Then the response JSON at "hives" contains {"hive_id": "hive-1", "state": "lost"}
      And the response JSON at "hives" contains {"hive_id": "hive-2", "state": "lost"}
      """
    When I send a POST request to "/v1/inference" as tenant "split" with JSON:
      """
      {"model": "tinyllama", "prompt": "queued while split", "max_tokens": 4, "async": true}
      """
    Then the response status is 202
    When I remember the response JSON at "job_id" as "job_id"
    And I wait 2 seconds
    And I send a GET request to "/v1/jobs/{job_id}" as tenant "split"
    Then the response JSON at "state" equals "queued"
    When the partition heals
    Then within 20 seconds:
      """
      When I send a GET request to "/v1/jobs/{job_id}" as tenant "split"
      Then the response JSON at "state" equals "completed"
      """
    And within 10 seconds:
      """
      When I send a GET request to "/v1/hives" as tenant "split"
      Then the response JSON at "hives" contains {"hive_id": "hive-1", "state": "ready"}
      And the response JSON at "hives" contains {"hive_id": "hive-2", "state": "ready"}
      """

  Scenario: steady load through a partition: every accepted job completes after the heal
    When the network between queen and hive-* is partitioned
    And steady load of 5 requests per second runs in the background for 6 seconds
    And I wait 5 seconds
    And the partition heals
    Then the background load finished
    And at least 100% succeed
    And no job id is duplicated
    And every accepted job completes
