@integration @load @p1 @env.load @serial
Feature: Latency targets for inference and for event publishing
  At a light steady rate the inference round trip (8 tokens at 200 tokens/s on the workers, so
  about 40 ms of generation) and the time until the first server-sent event are bounded. The
  bounds leave room for a shared 2-core machine; the measured figures are in the run folder
  (load/NNN-*.json) and in each scenario's output.

  Scenario: Inference latency at 20 requests per second
    When requests arrive at 20 per second for 10 seconds
    Then at least 99% succeed
    And the p50 latency is below 200 ms
    And the p95 latency is below 1000 ms
    And the p99 latency is below 3000 ms
    And the load results are printed

  Scenario: Event publish latency: time to the first streamed event
    When 4 clients each stream 10 inference requests concurrently
    Then at least 99% succeed
    And the p50 time to first event is below 500 ms
    And the p95 time to first event is below 1000 ms
    And the p99 time to first event is below 2000 ms
    And the p99 latency is below 3000 ms
    And the load results are printed
