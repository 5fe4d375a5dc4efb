@integration @chaos @p2 @env.full-stack @hive
Feature: concurrent model downloads
  Clients that ask one hive for the same model at the same time share one download; every one of
  them sees it complete.

  Scenario: eight concurrent downloads of one model share a single download
    Given the load target is POST "/v1/models/chaos-shared-model/provision" on "hive-2"
    When 8 clients each stream 1 request concurrently
    Then at least 100% succeed
    When I send a GET request to "/v1/models" on "hive-2"
    Then the response JSON at "downloads_started" equals 1
    And the response JSON at "downloads_joined" equals 7
    And the response JSON at "models" contains {"name": "chaos-shared-model", "state": "available"}
