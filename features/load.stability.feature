@load @slow @p2 @env.load
Feature: Long-running stability
  A steady rate for a minute: no error, no accepted job lost, and no service's memory keeps
  growing. The latency bound only catches hangs; the latency targets are in load.latency.

  Scenario: 60 seconds at 20 requests per second without errors or memory growth
    When I note the memory of every service as "start"
    And requests arrive at 20 per second for 60 seconds
    Then at least 100% succeed
    And no service's memory grew by more than 50 MB since "start"
    And every accepted job completes
    And no job id is duplicated
    And the p99 latency is below 10000 ms
    And the load results are printed
