@env.shop
Feature: after a restart, the checks a team wraps in 'within' wait for the services to come back
  A restarted service refuses connections, and PostgreSQL answers "the database system is
  starting up" for a while: 'within N seconds:' retries those errors until its own deadline.

  Scenario: a WebSocket, a SQL query and a Redis check wait for their restarted services
    Given the PostgreSQL database of "db" is "shop" as user "shop" with the password from "db_password"
    When ws, db, cache is restarted
    Then within 30 seconds:
      """
      When I open a WebSocket "echo" to "/" on "ws"
      Then the SQL query "SELECT 1 + 1" on "db" returns the value 2
      And the Redis key "never-set" on "cache" does not exist
      """
    And 1 frames of kind "hello" arrive on "echo"
