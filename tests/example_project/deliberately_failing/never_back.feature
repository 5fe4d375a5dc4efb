@env.shop
Feature: a service that never comes back (run by tests/test_example_project.py, apart from the suite)

  Scenario: the WebSocket server was stopped and nobody starts it
    When ws is stopped
    Then within 5 seconds:
      """
      When I open a WebSocket "echo" to "/" on "ws"
      """
