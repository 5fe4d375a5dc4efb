@integration @chaos @p1 @env.chaos @queen @hive
Feature: latency between the queen and its hives
  With 300 ms added on every queen-hive edge (fault proxy), answers get slower but not wrong:
  latency rises by about the added delay and no request fails.

  Scenario: 300 ms on the queen-hive edges raises latency by about 300 ms without a single error
    When requests arrive at 5 per second for 4 seconds
    Then at least 100% succeed
    When 300 ms of latency is added between queen and hive-1
    And 300 ms of latency is added between queen and hive-2
    And requests arrive at 5 per second for 4 seconds
    Then at least 100% succeed
    And the p50 latency rose by at least 250 ms over the previous run
    And the p99 latency is at least 300 ms
    And the p99 latency is below 3000 ms
