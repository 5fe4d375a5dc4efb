@integration @p1 @env.limits @queen
Feature: per-tenant rate limiting of inference requests
  The queen keeps a token bucket per tenant (here 3 requests, refilled 1 every 4 seconds): a burst
  beyond it gets 429 with Retry-After, other tenants are unaffected, and after the cooldown the
  tenant is served again.

  Background:
    Given the default service is "queen"

  Scenario: a burst over the bucket is refused with 429 and Retry-After, then served after the cooldown
    When I read the metric "queen_jobs_total{outcome='rejected'}" on "queen" as "rejected"
    And I send 8 POST requests to "/v1/inference" as tenant "burst" with JSON:
      """
      {"model": "tinyllama", "prompt": "burst", "max_tokens": 1}
      """
    Then 3 of those responses have status 200
    And 5 of those responses have status 429
    And the response status is 429
    And the response JSON at "error.code" equals "rate_limited"
    And the response header "Retry-After" exists
    And the metric "queen_jobs_total{outcome='rejected'}" on "queen" rose by 5 since "rejected"
    When I send a POST request to "/v1/inference" as tenant "bystander" with JSON:
      """
      {"model": "tinyllama", "prompt": "not me", "max_tokens": 1}
      """
    Then the response status is 200
    And within 6 seconds:
      """
      When I send a POST request to "/v1/inference" as tenant "burst" with JSON:
        '''
        {"model": "tinyllama", "prompt": "again", "max_tokens": 1}
        '''
      Then the response status is 200
      """
