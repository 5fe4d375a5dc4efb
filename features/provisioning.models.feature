@integration @p2 @env.full-stack @hive @queen
Feature: model provisioning on a hive
  A hive downloads a model on request and streams its progress; concurrent requests for the same
  model share one download; a provisioned model is advertised to the queen.

  Scenario: provisioning streams progress until the download completes, then the queen knows the model
    When I stream a POST request to "/v1/models/phi-2/provision" on "hive-1"
    Then the response status is 200
    And the events arrive in order: download_started, progress, download_completed
    And 10 events of kind "progress" arrived
    And every event carries "download_id"
    And the first event of kind "download_started" at "shared" equals false
    And the last event of kind "progress" at "percent" equals 100
    And the last event of kind "download_completed" at "model" equals "phi-2"
    When I send a GET request to "/v1/models" on "hive-1"
    Then the response JSON at "models" contains {"name": "phi-2", "state": "available", "percent": 100}
    And within 3 seconds:
      """
      When I send a GET request to "/v1/hives" on "queen" as tenant "provisioning"
      Then the response JSON at "hives" contains {"hive_id": "hive-1", "models": ["phi-2", "tinyllama"]}
      """

  Scenario: two concurrent provisions of one model share a single download
    When I send 2 concurrent POST requests to "/v1/models/mistral-7b/provision" on "hive-2"
    Then 2 of those responses have status 200
    And the "download_started" events of those responses have 1 distinct value at "download_id"
    And the "download_started" events of those responses have 2 distinct values at "shared"
    And the "download_completed" events of those responses have 1 distinct value at "percent"
    When I send a GET request to "/v1/models" on "hive-2"
    Then the response JSON at "models" has 1 items matching {"name": "mistral-7b", "state": "available", "requests": 2}
