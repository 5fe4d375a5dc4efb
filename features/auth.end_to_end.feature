@integration @p0 @env.full-stack @auth @queen
Feature: authentication and tenant isolation end to end
  Every /v1 route of the queen needs a valid HS256 bearer token; a rejected token gets a 401 that
  names the problem, admin routes need the admin claim, and a tenant never sees another's jobs.

  Background:
    Given the default service is "queen"

  Scenario Outline: a request with a <problem> token is rejected with 401 "<code>"
    When I send a GET request to "/v1/jobs" with token "<token>"
    Then the response status is 401
    And the response JSON at "error.code" equals "<code>"
    And the response JSON at "error.message" is a string
    And the response header "WWW-Authenticate" contains "<code>"

    Examples:
      | problem       | token        | code            |
      | missing       | none         | missing_token   |
      | malformed     | malformed    | malformed_token |
      | three-part    | abc.def.ghi  | malformed_token |
      | wrongly signed | badly signed | bad_signature   |
      | expired       | expired      | token_expired   |

  Scenario: an Authorization header with another scheme is malformed
    When I send a GET request to "/v1/jobs" with headers:
      | name          | value              |
      | Authorization | Basic dXNlcjpwYXNz |
    Then the response status is 401
    And the response JSON at "error.code" equals "malformed_token"

  Scenario: an admin route without the admin claim is forbidden and changes nothing
    When I send a POST request to "/v1/admin/shutdown" as tenant "auth-plain"
    Then the response status is 403
    And the response JSON at "error.code" equals "forbidden"
    When I send a GET request to "/health"
    Then the response status is 200
    And the response JSON at "status" equals "ok"

  Scenario: another tenant's job is not found, and each tenant lists only its own jobs
    When I send a POST request to "/v1/inference" as tenant "auth-owner" with JSON:
      """
      {"model": "tinyllama", "prompt": "private", "max_tokens": 2}
      """
    Then the response status is 200
    When I remember the response JSON at "job_id" as "job_id"
    And I send a GET request to "/v1/jobs/{job_id}" as tenant "auth-stranger"
    Then the response status is 404
    And the response JSON at "error.code" equals "not_found"
    And the response body contains "{job_id}"
    When I send a GET request to "/v1/jobs/{job_id}" as tenant "auth-owner"
    Then the response status is 200
    And the response JSON at "state" equals "completed"
    When I send a GET request to "/v1/jobs" as tenant "auth-owner"
    Then the response status is 200
    And the response JSON at "jobs" contains {"job_id": "{job_id}", "state": "completed"}
    When I send a GET request to "/v1/jobs" as tenant "auth-stranger"
    Then the response status is 200
    And the response JSON at "jobs" has 0 items
