@integration @chaos @p2 @env.full-stack @hive
Feature: concurrent model downloads
  Clients that ask one hive for the same model at the same time share one download; every one of
  them sees it complete: the hive lists one download of the model that all 8 requests joined. (Its
  global counters are not read: the environment is shared with other features that provision models.)

  Scenario: eight concurrent downloads of one model share a single download
    Given the load target is POST "/v1/models/chaos-shared-model/provision" on "hive-2"
    When 8 clients each stream 1 request concurrently
    Then at least 100% succeed
    When I send a GET request to "/v1/models" on "hive-2"
    Then the response JSON at "models" has 1 items matching {"name": "chaos-shared-model", "state": "available", "requests": 8}
