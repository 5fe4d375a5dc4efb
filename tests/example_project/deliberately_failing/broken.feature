@env.shop
Feature: a deliberately failing check (run by tests/test_example_project.py, apart from the suite)

  Scenario: the team expected another health status
    When I send a GET request to "/health" on "api"
    Then the response JSON at "status" equals "degraded"
