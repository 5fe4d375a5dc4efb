@integration @chaos @p1 @hive
Feature: the hive's worker registry database breaks
  A corrupt registry file at start is logged once, moved aside and rebuilt from heartbeats; a
  registry that becomes unavailable while the hive runs is logged once per outage, the hive keeps
  relaying to the workers it knows and recovers when the database answers again.

  @fresh @env.minimal
  Scenario: a corrupted registry database is logged once and rebuilt; the hive keeps serving
    When the file "/data/hive-registry.db" in hive-1 is corrupted
    Then within 15 seconds the logs of service "hive-1" contain "registry_unreadable"
    And the logs of service "hive-1" contain "registry_unreadable" exactly 1 times
    And within 10 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" contains {"worker_id": "worker-1-1", "status": "ready"}
      """
    And the service "hive-1" is healthy
    When I send a POST request to "/v1/inference" on "queen" as tenant "disk" with JSON:
      """
      {"model": "tinyllama", "prompt": "after the rebuild", "max_tokens": 4}
      """
    Then the response status is 200
    And the response JSON at "hive_id" equals "hive-1"

  @env.full-stack
  Scenario: an unavailable registry database degrades the hive, which keeps serving and recovers
    When the SQLite database "/data/hive-registry.db" in hive-1 is locked
    Then within 10 seconds the logs of service "hive-1" contain "registry_unavailable"
    When I send a GET request to "/health" on "hive-1"
    Then the response JSON at "status" equals "degraded"
    And the response body contains "registry unavailable"
    When I wait 3 seconds
    And I send a GET request to "/v1/hives" on "queen" as tenant "disk"
    Then the response JSON at "hives" contains {"hive_id": "hive-1", "state": "ready"}
    When 4 clients each send 2 inference requests concurrently
    Then at least 100% succeed
    When the lock on "/data/hive-registry.db" in hive-1 is released
    Then within 10 seconds the logs of service "hive-1" contain "registry_available"
    And the logs of service "hive-1" contain "registry_unavailable" exactly 1 times
    And within 10 seconds:
      """
      When I send a GET request to "/health" on "hive-1"
      Then the response JSON at "status" equals "ok"
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 2 items
      """
