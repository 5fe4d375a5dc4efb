@env.shop
Feature: the shop answers through nginx
  Requests go to nginx, which proxies them to the team's API; items live in PostgreSQL and
  cached values in Redis.

  Background:
    Given the default service is "nginx"

  Scenario: every service of the stack is up
    Then the service "nginx" is healthy
    And the service "api" is healthy
    And the service "db" is healthy
    And the service "cache" is healthy
    And the logs of service "db" since the environment started contain "database shop initialised"

  Scenario: an item is written to PostgreSQL and read back through nginx
    When I send a POST request to "/items" with JSON:
      """
      {"name": "teapot"}
      """
    Then the response status is 201
    And the response JSON at "id" is an integer
    When I remember the response JSON at "id" as "item"
    And I send a GET request to "/items/{item}"
    Then the response status is 200
    And the response JSON has:
      | path | value    |
      | id   | {item}   |
      | name | "teapot" |
    And the response header "Server" contains "nginx"
    And within 10 seconds the logs of service "api" contain "created item {item}"

  Scenario: an unknown item and a missing field are answered by the API, not nginx
    When I send a GET request to "/items/999999"
    Then the response status is 404
    And the response JSON at "error" equals "no item 999999"
    When I send a POST request to "/items" with JSON:
      """
      {"colour": "blue"}
      """
    Then the response status is 400
    And the response JSON at "field" equals "name"

  Scenario: a cached value expires after its TTL
    When I send a PUT request to "/cache/greeting?ttl=2" with body:
      """
      hello
      """
    Then the response status is 204
    When I send a GET request to "/cache/greeting"
    Then the response status is 200
    And the response JSON at "value" equals "hello"
    And the response JSON at "ttl" is an integer
    And within 10 seconds:
      """
      When I send a GET request to "/cache/greeting"
      Then the response status is 404
      """
