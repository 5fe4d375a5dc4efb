@integration @chaos @p1 @env.full-stack @hive @queen
Feature: a paused hive
  A frozen hive stops heartbeating: the queen reports itself degraded, marks the hive lost and sends
  jobs to the other hive. Unpaused, the hive is ready again and the queen is ok.

  Background:
    Given the default service is "queen"

  Scenario: a paused hive degrades the queen gracefully and recovers after unpause
    # steady state first: both hives ready with their workers (the shared stack may still be settling)
    Given within 20 seconds, for 1 seconds in a row:
      """
      When I send a GET request to "/v1/hives" as tenant "frozen"
      Then the response JSON at "hives" has 2 items matching {"state": "ready", "workers": 2}
      """
    When hive-1 is paused
    Then within 10 seconds:
      """
      When I send a GET request to "/health"
      Then the response JSON at "status" equals "degraded"
      When I send a GET request to "/v1/hives" as tenant "frozen"
      Then the response JSON at "hives" contains {"hive_id": "hive-1", "state": "lost"}
      """
    When 4 clients each send 3 inference requests concurrently
    Then at least 100% succeed
    When hive-1 is unpaused
    Then within 10 seconds:
      """
      When I send a GET request to "/health"
      Then the response JSON at "status" equals "ok"
      When I send a GET request to "/v1/hives" as tenant "frozen"
      Then the response JSON at "hives" contains {"hive_id": "hive-1", "state": "ready"}
      """
