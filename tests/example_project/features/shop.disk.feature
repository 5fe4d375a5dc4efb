@env.shop
Feature: the database's disk fills up
  PostgreSQL's data volume is a 64 MB tmpfs: filling it makes every write fail. The API answers
  503 with the database's error instead of hanging or crashing, reads still work, and once the
  space is back, writes succeed again without a restart.

  Background:
    Given the default service is "nginx"

  Scenario: a full disk turns writes into 503 with the error; freeing it brings writes back
    When I send a POST request to "/items" with JSON:
      """
      {"name": "before"}
      """
    Then the response status is 201
    When I remember the response JSON at "id" as "before"
    And the disk at "/var/lib/postgresql/data" in db is full
    And I send a POST request to "/items" with JSON:
      """
      {"name": "while full"}
      """
    Then the response status is 503
    And the response JSON at "error" contains "No space left on device"
    When I send a GET request to "/items/{before}"
    Then the response status is 200
    When every fault is undone
    And I send a POST request to "/items" with JSON:
      """
      {"name": "after"}
      """
    Then the response status is 201
    And the service "db" is healthy
