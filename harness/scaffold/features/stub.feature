@env.stub
Feature: the stub service answers
  The scaffold's first feature: `behave` brings the stub environment up, runs this, and takes it
  down. `harness steps` lists every step you can use.

  Scenario: the stub is healthy and serves its health page
    Then the service "web" is healthy
    When I send a GET request to "/health" on "web"
    Then the response status is 200
    And the response body contains "ok"
    And the response time is below 5000 ms
