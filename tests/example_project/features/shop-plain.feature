@env.shop-plain
Feature: the shop's own docker-compose.yml, run unchanged
  environments/shop-plain.yaml is a single line, `compose: ../docker-compose.yml`: the
  services, their ports and probes come from the compose file (healthchecks, published ports),
  and its fixed host port 8080 becomes an ephemeral one.

  Scenario: the plain compose project comes up healthy and answers through nginx
    Then the service "db" is healthy
    And the service "cache" is healthy
    When I send a POST request to "/items" on "nginx" with JSON:
      """
      {"name": "plain"}
      """
    Then the response status is 201
    When I remember the response JSON at "id" as "item"
    And I send a GET request to "/items/{item}" on "nginx"
    Then the response JSON at "name" equals "plain"
