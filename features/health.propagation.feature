@integration @p1 @env.full-stack @queen @hive @worker
Feature: health propagates from workers through hives to the queen
  The queen's /health is ok when every hive has a ready worker, degraded with a reason when some
  hive has none or is lost, and unhealthy (503) when no hive is left.

  Background:
    Given the default service is "queen"

  Scenario: the whole stack is healthy
    # healthy means healthy for a while: the shared stack may still be settling after an earlier
    # feature's fault (a restarted worker re-registers within a few heartbeats)
    Given within 10 seconds, for 1 seconds in a row:
      """
      When I send a GET request to "/health"
      Then the response status is 200
      And the response JSON at "status" equals "ok"
      And the response JSON at "reasons" has 0 items
      When I send a GET request to "/health" on "hive-1"
      Then the response JSON at "status" equals "ok"
      And the response JSON at "workers.ready" equals 2
      """

  Scenario: a hive without a ready worker makes the queen degraded, naming the hive
    When worker-1-1, worker-1-2 is stopped
    Then within 5 seconds:
      """
      When I send a GET request to "/health"
      Then the response status is 200
      And the response JSON at "status" equals "degraded"
      And the response JSON at "reasons" contains "hive hive-1 has no ready worker"
      """
    And the response JSON at "reasons" has 1 items
    When I send a GET request to "/health" on "hive-1"
    Then the response JSON at "status" equals "degraded"
    And the response JSON at "reasons" contains "no ready worker"
    When I send a GET request to "/health" on "hive-2"
    Then the response JSON at "status" equals "ok"

  Scenario: a hive that stops heartbeating is reported lost
    When hive-2 is paused
    Then within 4 seconds:
      """
      When I send a GET request to "/health"
      Then the response JSON at "status" equals "degraded"
      And the response JSON at "reasons" contains "hive hive-2 is lost"
      """
    When I send a GET request to "/v1/hives" as tenant "health"
    Then the response JSON at "hives" contains {"hive_id": "hive-2", "state": "lost"}
    And the response JSON at "hives" contains {"hive_id": "hive-1", "state": "ready"}

  Scenario: with no hive left the queen is unhealthy
    When hive-1, hive-2 is stopped
    Then within 5 seconds:
      """
      When I send a GET request to "/health"
      Then the response status is 503
      And the response JSON at "status" equals "unhealthy"
      And the response JSON at "reasons" contains "no hive registered"
      """
