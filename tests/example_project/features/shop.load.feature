@env.shop
Feature: the shop under load
  A closed loop of writes through nginx into PostgreSQL, and an open loop whose latency rises by
  the delay added on the nginx -> api edge (measured against a baseline run in the same scenario).

  Scenario: 4 clients write 25 items each through nginx
    Given the load target is POST "/items" on "nginx" with JSON:
      """
      {"name": "item-{client}-{seq}"}
      """
    When 4 clients each send 25 requests concurrently
    Then at least 100% succeed
    And the p50 latency is below 500 ms
    And the p99 latency is below 3000 ms
    And the load results are printed

  Scenario: 300 ms of latency on the nginx -> api edge raises p50 by at least 250 ms (a busy machine can shave a few ms off the rise)
    Given the load target is GET "/health" on "nginx"
    When requests arrive at 10 per second for 3 seconds
    Then at least 100% succeed
    When 300 ms of latency is added between nginx and api
    And requests arrive at 10 per second for 3 seconds
    Then at least 100% succeed
    And the p50 latency rose by at least 250 ms over the previous run
    And the p50 latency is at least 300 ms
    And the p50 latency is below 1500 ms
    And the load results are printed
