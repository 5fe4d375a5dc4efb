@integration @load @p0 @env.load @serial
Feature: 119 concurrent agents share the inference stack
  Seed 000's load test: 119 agents spawn at once; each asks (an inference request), works
  100 ms, then posts its result (a second request). At least 95% succeed, no two get the
  same job id, every accepted job is found completed by its own tenant, all within 30 s.
  Latency is bounded by a baseline measured in the same scenario: at most 119 requests are in
  flight on 16 slots (2 hives x 2 workers x 4), so none waits longer than ceil(119 / 16) single
  requests, plus a margin for the shared CPU. A stack that runs fewer jobs at once than its
  workers advertise (make mutants: WORKER_ONE_AT_A_TIME) breaks that bound.

  Scenario: 119 agents each ask, think 100 ms and post a result
    When a single request is timed 5 times as the baseline
    And 119 clients each send 2 inference requests concurrently with 100 ms think time
    Then at least 95% succeed
    And no job id is duplicated
    And every accepted job completes
    And the load run took less than 30 seconds
    And the p99 latency is within the baseline queued on 16 slots plus 1000 ms
    And the load results are printed
