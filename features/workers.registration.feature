@integration @p0 @env.full-stack @worker @hive @queen
Feature: worker registration and discovery
  Workers register with their hive and heartbeat; hives pass their workers on to the queen. A worker
  that stops deregisters, one that goes silent is removed after 3 missed heartbeats (0.5 s each
  here), and a worker that comes back joins again.

  Background:
    Given the default service is "queen"

  Scenario: every worker is listed with its hive, by the queen and by its own hive
    # A worker still finishing an earlier feature's job is "busy" until the next heartbeat (0.5 s):
    # idle state is reached within a few heartbeats, never assumed at the first request.
    Then within 5 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "discovery"
      Then the response status is 200
      And the response JSON at "workers" has 4 items
      And the response JSON at "workers" contains {"worker_id": "worker-1-1", "hive_id": "hive-1", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-1-2", "hive_id": "hive-1", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-2-1", "hive_id": "hive-2", "state": "ready"}
      And the response JSON at "workers" contains {"worker_id": "worker-2-2", "hive_id": "hive-2", "state": "ready"}
      """
    When I send a GET request to "/v1/workers" on "hive-2"
    Then the response status is 200
    And the response JSON at "hive_id" equals "hive-2"
    And the response JSON at "workers" has 2 items
    And the response JSON at "workers" contains {"worker_id": "worker-2-1", "model": "tinyllama"}
    When I send a GET request to "/v1/hives" as tenant "discovery"
    Then the response JSON at "hives" has 2 items
    And the response JSON at "hives" contains {"hive_id": "hive-1", "state": "ready", "workers": 2}

  Scenario: a stopped worker leaves, and joins again when it is started
    # steady state first: an earlier feature's fault (a paused hive) may still be settling, and a
    # count of 3 read then would not be worker-1-1 leaving
    Given within 10 seconds, for 1 seconds in a row:
      """
      When I send a GET request to "/v1/workers" as tenant "discovery"
      Then the response JSON at "workers" has 4 items matching {"state": "ready"}
      """
    When worker-1-1 is stopped
    Then within 3 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "discovery"
      Then the response JSON at "workers" has 3 items
      And the response JSON at "workers" has 0 items matching {"worker_id": "worker-1-1"}
      """
    And the logs of service "hive-1" match ""event": "worker_deregistered".*"worker_id": "worker-1-1""
    When worker-1-1 is restarted
    Then within 5 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "discovery"
      Then the response JSON at "workers" has 4 items
      And the response JSON at "workers" contains {"worker_id": "worker-1-1", "hive_id": "hive-1", "state": "ready"}
      """

  Scenario: a silent worker is removed within 3 heartbeats and re-joins when it answers again
    When worker-2-2 is paused
    Then within 2 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-2"
      Then the response JSON at "workers" has 1 items
      """
    And the logs of service "hive-2" match ""event": "worker_lost".*"worker_id": "worker-2-2", "missed_heartbeats": 3"
    And within 2 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "discovery"
      Then the response JSON at "workers" has 3 items
      """
    When worker-2-2 is unpaused
    Then within 3 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "discovery"
      Then the response JSON at "workers" contains {"worker_id": "worker-2-2", "hive_id": "hive-2", "state": "ready"}
      """

  Scenario: a worker killed with docker kill disappears within 3 heartbeats
    When worker-1-2 is killed
    Then within 2 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 1 items
      """
    And the logs of service "hive-1" match ""event": "worker_lost".*"worker_id": "worker-1-2", "missed_heartbeats": 3"
    And within 2 seconds:
      """
      When I send a GET request to "/v1/workers" as tenant "discovery"
      Then the response JSON at "workers" has 3 items
      """

  Scenario: hives restarted in the other order keep their own workers (no stale name resolution)
    When hive-1, hive-2 is stopped
    And hive-2 is restarted
    And hive-1 is restarted
    Then within 5 seconds:
      """
      When I send a GET request to "/v1/workers" on "hive-1"
      Then the response JSON at "workers" has 2 items
      And the response JSON at "workers" contains {"worker_id": "worker-1-1"}
      And the response JSON at "workers" contains {"worker_id": "worker-1-2"}
      When I send a GET request to "/v1/workers" on "hive-2"
      Then the response JSON at "workers" has 2 items
      And the response JSON at "workers" contains {"worker_id": "worker-2-1"}
      And the response JSON at "workers" contains {"worker_id": "worker-2-2"}
      """
    When I send a POST request to "/v1/inference" as tenant "discovery" with JSON:
      """
      {"model": "tinyllama", "prompt": "who runs me", "max_tokens": 2}
      """
    Then the response status is 200
    When I remember the response JSON at "worker_id" as "worker_id"
    And I remember the response JSON at "hive_id" as "hive_id"
    And I send a GET request to "/v1/workers" as tenant "discovery"
    Then the response JSON at "workers" contains {"worker_id": "{worker_id}", "hive_id": "{hive_id}"}
