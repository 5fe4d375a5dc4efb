@env.web
Feature: a second team's stack, tested with the generic steps only

  Scenario: both services are up and the site serves its page
    Then the service "site" is healthy
    And the service "api" is healthy
    When I send a GET request to "/" on "site"
    Then the response status is 200
    And the response header "Content-Type" contains "text/html"
    And the response body contains "Welcome to the example site"
    And the response time is below 5000 ms
    And the logs of service "api" contain "api listening on 8080"

  Scenario: items are created, remembered and read back
    Given the default service is "api"
    When I send a POST request to "/v1/items" with JSON:
      """
      {"name": "first"}
      """
    Then the response status is 201
    And the response JSON at "id" matches "^item-\d+$"
    When I remember the response JSON at "id" as "item_id"
    And I send a GET request to "/v1/items/{item_id}"
    Then the response JSON has:
      | path | value       |
      | id   | "{item_id}" |
      | name | "first"     |
    And within 10 seconds the logs of service "api" contain "created {item_id}"

  Scenario: validation errors name the field
    When I send a POST request to "/v1/items" on "api" with JSON:
      """
      {"colour": "blue"}
      """
    Then the response status is 4xx
    And the response JSON at "error.code" equals "missing_field"
    And the response JSON at "error.field" equals "name"
    When I send a POST request to "/v1/items" on "api" with body:
      """
      {not json
      """
    Then the response JSON at "error.code" equals "malformed_json"

  Scenario: tokens come from the generic factory and the environment's secret
    When I send a GET request to "/whoami" on "api" as admin of tenant "acme"
    Then the response JSON at "claims.tenant" equals "acme"
    And the response JSON at "claims.admin" equals true
    When I send a GET request to "/whoami" on "api" with token "none"
    Then the response JSON at "claims" is null

  Scenario: an event stream arrives in order
    When I stream a GET request to "/v1/events" on "api"
    Then the events arrive in order: started, tick, done
    And 3 events of kind "tick" arrived
    And every event carries "run_id"
    And the first event arrived within 5000 ms

  Scenario: a check is retried until the service warms up
    Then within 15 seconds:
      """
      When I send a GET request to "/warmup" on "api"
      Then the response status is 200
      """
