@load @env.load
Feature: Many concurrent inference requests at once
  Every client has its own tenant token and a unique prompt. Jobs beyond the workers' slots wait
  in the queen's queue (environment "load": queue of 4000); none may be lost or get another's id.

  @integration @p1
  Scenario: 100 concurrent inference requests all complete
    When 100 clients each send 1 inference request concurrently
    Then at least 99% succeed
    And no job id is duplicated
    And every accepted job completes
    And the load run took less than 30 seconds
    And the p99 latency is below 10000 ms
    And the load results are printed

  @slow @p2
  Scenario: 1000 concurrent inference requests are queued, not dropped
    When 1000 clients each send 1 inference request concurrently
    Then at least 95% succeed
    And no job id is duplicated
    And every accepted job completes within 60 seconds
    And the load run took less than 90 seconds
    And the load results are printed
