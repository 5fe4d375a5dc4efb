@integration @chaos @p1 @env.full-stack @worker @hive @queen
Feature: worker churn under steady load
  Workers are killed and started again, one at a time, while clients keep sending inference
  requests at a steady rate. The hive retries jobs that meet a dead worker before their first
  token; at most a few jobs caught mid-stream fail with a reason, and no accepted job is lost.

  Scenario: workers churn under steady load; at least 95% succeed and no accepted job is lost
    When steady load of 10 requests per second runs in the background for 20 seconds
    And the services worker-* churn every 2 seconds for 16 seconds
    And the churn has finished
    Then the background load finished
    And at least 95% succeed
    And no job id is duplicated
    And every accepted job completes within 30 seconds
    And within 15 seconds:
      """
      When I send a GET request to "/v1/workers" on "queen" as tenant "churn"
      Then the response JSON at "workers" has 4 items
      And the response JSON at "workers" contains {"worker_id": "worker-1-1", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-2-2", "state": "ready"}
      """
