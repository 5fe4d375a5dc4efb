@integration @chaos @p1 @env.full-stack @worker @hive @queen @timing
Feature: worker churn under steady load
  Workers are killed and started again, one at a time, while clients keep submitting jobs at a
  steady rate. The load is asynchronous (accepted with 202, then looked up), so every acknowledged
  job is one the stack must finish: the hive retries jobs that meet a dead worker before their
  first token; at most a few jobs caught mid-stream fail with a reason, and no accepted job is lost.
  The churned workers are the ones each hive prefers when idle (the lowest id among equally loaded
  workers), so every kill meets traffic and every restarted worker gets jobs again.

  Scenario: workers churn under steady load; at least 95% of the accepted jobs complete and none is lost
    Given the load sends asynchronous inference requests
    When steady load of 10 requests per second runs in the background for 20 seconds
    And the services worker-1-1, worker-2-1 churn every 2 seconds for 16 seconds
    And the churn has finished
    Then the background load finished
    And at least 100% succeed
    And no job id is duplicated
    And at least 95% of the accepted jobs complete within 30 seconds
    And within 15 seconds:
      """
      When I send a GET request to "/v1/workers" on "queen" as tenant "churn"
      Then the response JSON at "workers" has 4 items
      And the response JSON at "workers" contains {"worker_id": "worker-1-1", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-2-2", "state": "ready"}
      """
