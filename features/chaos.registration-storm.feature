@integration @chaos @p2 @env.storm @hive @worker
Feature: many workers register with one hive at once
  Twenty workers start together and register concurrently; later all of them go silent and come
  back at the same moment. Each registration is recorded exactly once.

  Scenario: 20 workers registering at once are each registered exactly once, also when they re-join together
    Then within 10 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 20 items
      """
    And the logs of service "hive-1" contain ""event": "worker_registered"" exactly 20 times
    When worker-* is paused
    Then within 10 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 0 items
      """
    And the logs of service "hive-1" contain ""event": "worker_lost"" exactly 20 times
    When worker-* is unpaused
    Then within 10 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 20 items
      """
    And the logs of service "hive-1" contain ""event": "worker_registered"" exactly 40 times
    And within 5 seconds:
      """
      When I send a GET request to "/v1/workers" on "queen" as tenant "storm"
      Then the response JSON at "workers" has 20 items
      """
