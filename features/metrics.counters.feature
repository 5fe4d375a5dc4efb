@integration @p2 @env.full-stack @queen @metrics
Feature: the queen's Prometheus metrics move by exactly the requests made
  Counters on GET /metrics: requests by route and status, jobs by outcome, the inference latency
  histogram; gauges of workers and hives by state.

  Background:
    Given the default service is "queen"

  Scenario: three completed inferences count three completed jobs, requests and latencies
    When I read the metric "queen_jobs_total{outcome=\"completed\"}" on "queen" as "completed"
    And I read the metric "queen_http_requests_total{route=\"/v1/inference\", status=\"200\"}" on "queen" as "ok"
    And I read the metric "queen_inference_latency_seconds_count" on "queen" as "latencies"
    And I send 3 POST requests to "/v1/inference" as tenant "metrics" with JSON:
      """
      {"model": "tinyllama", "prompt": "count me", "max_tokens": 2}
      """
    Then 3 of those responses have status 200
    And the metric "queen_jobs_total{outcome=\"completed\"}" on "queen" rose by 3 since "completed"
    And the metric "queen_http_requests_total{route=\"/v1/inference\", status=\"200\"}" on "queen" rose by 3 since "ok"
    And the metric "queen_inference_latency_seconds_count" on "queen" rose by 3 since "latencies"
    And the metric "queen_inference_latency_seconds_bucket{le=\"+Inf\"}" on "queen" rose by 3 since "latencies"

  Scenario: rejected requests are counted by status and start no job
    When I read the metric "queen_http_requests_total{route='/v1/inference', status='400'}" on "queen" as "bad"
    And I read the metric "queen_jobs_total" on "queen" as "jobs"
    And I send 2 POST requests to "/v1/inference" as tenant "metrics" with JSON:
      """
      {"model": "tinyllama", "prompt": "", "max_tokens": 2}
      """
    Then 2 of those responses have status 400
    And the metric "queen_http_requests_total{route='/v1/inference', status='400'}" on "queen" rose by 2 since "bad"
    And the metric "queen_jobs_total" on "queen" rose by 0 since "jobs"

  Scenario: a failed job is counted as failed, not completed
    When I read the metric "queen_jobs_total{outcome='failed'}" on "queen" as "failed"
    And I read the metric "queen_jobs_total{outcome='completed'}" on "queen" as "completed"
    And I send a POST request to "/v1/inference" as tenant "metrics" with JSON:
      """
      {"model": "tinyllama", "prompt": "__fail__", "max_tokens": 3}
      """
    Then the response status is 502
    And the metric "queen_jobs_total{outcome='failed'}" on "queen" rose by 1 since "failed"
    And the metric "queen_jobs_total{outcome='completed'}" on "queen" rose by 0 since "completed"

  Scenario: the gauges show every worker and hive ready
    # gauges are fed by heartbeats: after an earlier feature restarted a hive or a worker on this
    # shared environment, they settle within a few heartbeats (seen: 5 ready workers for a moment)
    Then within 10 seconds:
      """
      Then the metric "queen_workers{state='ready'}" on "queen" equals 4
      And the metric "queen_workers{state!='ready'}" on "queen" equals 0
      And the metric "queen_hives{state='ready'}" on "queen" equals 2
      And the metric "queen_queue_depth" on "queen" equals 0
      """
