@integration @load @p1 @env.load @serial
Feature: Latency targets for inference and for event publishing
  At a light steady rate the inference round trip (8 tokens at 200 tokens/s on the workers, so
  about 40 ms of generation) stays close to a single request's, measured as the baseline in the
  same scenario; the first server-sent event arrives well before a whole request would finish
  (a stream buffered until its end fails that). The measured figures are in the run folder
  (load/NNN-*.json) and in each scenario's output.

  Scenario: Inference latency at 20 requests per second
    When a single request is timed 5 times as the baseline
    And requests arrive at 20 per second for 10 seconds
    Then at least 99% succeed
    And the p50 latency is within 1.5 times the baseline plus 20 ms
    And the p95 latency is within 2 times the baseline plus 50 ms
    And the p99 latency is within 3 times the baseline plus 100 ms
    And the load results are printed

  Scenario: Event publish latency: time to the first streamed event
    When a single request is timed 5 times as the baseline
    And 4 clients each stream 10 inference requests concurrently
    Then at least 99% succeed
    And the p50 time to first event is within 0.5 times the baseline
    And the p99 time to first event is within 1 times the baseline plus 50 ms
    And the p99 latency is within 2 times the baseline plus 100 ms
    And the load results are printed
