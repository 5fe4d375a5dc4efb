@integration @load @p1 @env.load @serial
Feature: Open-loop stress at a rate the stack sustains
  Requests arrive at a constant rate whatever the answers; latency counts from each intended
  send time, so a stack that falls behind shows it in the percentiles (no coordinated omission). Bounds come
  from a single request's latency measured in the same scenario (the baseline).

  Scenario: 40 inference requests per second for 10 seconds
    When a single request is timed 5 times as the baseline
    And requests arrive at 40 per second for 10 seconds
    Then at least 99% succeed
    And the throughput is at least 38 requests per second
    And the p99 latency is within 3 times the baseline plus 100 ms
    And no job id is duplicated
    And every accepted job completes
    And the load results are printed

  Scenario: Steady background load while the API keeps answering
    When steady load of 20 requests per second runs in the background for 5 seconds
    And I send a GET request to "/health" on "queen"
    Then the response status is 200
    And the background load finished
    And at least 99% succeed
    And every accepted job completes
