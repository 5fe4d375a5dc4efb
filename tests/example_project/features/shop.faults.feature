@env.shop
Feature: nginx in front of a failing API
  nginx has short proxy timeouts: a dead backend gives a quick 502, a frozen or unreachable one
  a 504; once the backend is back, requests pass again.

  Background:
    Given the default service is "nginx"

  Scenario: a killed API gives 502 until it is started again
    When api is killed
    Then the service "api" is not running
    # nginx re-resolves "api" every second; once the name is gone the answer is an immediate 502.
    And within 10 seconds:
      """
      When I send a GET request to "/health"
      Then the response status is 502
      """
    And the response time is below 1000 ms
    When api is started
    Then within 30 seconds:
      """
      When I send a GET request to "/health"
      Then the response status is 200
      """
    And the response JSON at "status" equals "ok"

  Scenario: a paused API gives 504 and answers again once unpaused
    When api is paused
    And I send a GET request to "/health"
    Then the response status is 504
    When api is unpaused
    Then within 10 seconds:
      """
      When I send a GET request to "/health"
      Then the response status is 200
      """

  Scenario: a partition between nginx and the API gives 504 until it heals
    When the network between nginx and api is partitioned
    And I send a GET request to "/health"
    Then the response status is 504
    When I send a GET request to "/nginx-health"
    Then the response status is 200
    When the partition heals
    Then within 10 seconds:
      """
      When I send a GET request to "/health"
      Then the response status is 200
      """
