@integration @chaos @p1 @env.chaos @queen @hive @timing
Feature: latency between the queen and its hives
  With 300 ms added on every queen-hive edge (fault proxy), answers get slower but not wrong:
  latency rises by about the added delay and no request fails. The rise is read on the fastest
  request of each run (min): no request can beat the added delay, and the fastest one is the
  least disturbed by whatever else the machine is doing (a p50 is not, under parallel workers).

  Scenario: 300 ms on the queen-hive edges raises latency by about 300 ms without a single error
    When requests arrive at 5 per second for 4 seconds
    Then at least 100% succeed
    When 300 ms of latency is added between queen and hive-1
    And 300 ms of latency is added between queen and hive-2
    And requests arrive at 5 per second for 4 seconds
    Then at least 100% succeed
    And the min latency rose by at least 250 ms over the previous run
    And the min latency is at least 300 ms
    And the p99 latency is below 3000 ms
