@integration @p1 @env.full-stack @queen
Feature: input validation of inference requests
  The queen rejects a bad inference request with 400 and an error naming the code and the field,
  before any worker is involved; a body that is too large gets 413.

  Background:
    Given the default service is "queen"

  Scenario Outline: <case> is rejected with 400 "<code>"
    When I send a POST request to "/v1/inference" as tenant "validation" with body:
      """
      <body>
      """
    Then the response status is 400
    And the response JSON at "error.code" equals "<code>"
    And the response JSON at "error.field" equals <field>
    And the response JSON at "error.message" is a string

    Examples:
      | case                    | body                                                                   | code           | field        |
      | an unknown model        | {"model": "gpt-99", "prompt": "hi", "max_tokens": 5}                   | unknown_model  | "model"      |
      | max_tokens of 0         | {"model": "tinyllama", "prompt": "hi", "max_tokens": 0}                | out_of_range   | "max_tokens" |
      | max_tokens of 2049      | {"model": "tinyllama", "prompt": "hi", "max_tokens": 2049}             | out_of_range   | "max_tokens" |
      | negative max_tokens     | {"model": "tinyllama", "prompt": "hi", "max_tokens": -3}               | out_of_range   | "max_tokens" |
      | max_tokens as text      | {"model": "tinyllama", "prompt": "hi", "max_tokens": "ten"}            | invalid_type   | "max_tokens" |
      | max_tokens as a float   | {"model": "tinyllama", "prompt": "hi", "max_tokens": 2.5}              | invalid_type   | "max_tokens" |
      | an empty prompt         | {"model": "tinyllama", "prompt": "", "max_tokens": 5}                  | empty_prompt   | "prompt"     |
      | a blank prompt          | {"model": "tinyllama", "prompt": "   ", "max_tokens": 5}               | empty_prompt   | "prompt"     |
      | a prompt that is a list | {"model": "tinyllama", "prompt": ["hi"], "max_tokens": 5}              | invalid_type   | "prompt"     |
      | a missing model         | {"prompt": "hi", "max_tokens": 5}                                      | missing_field  | "model"      |
      | a missing max_tokens    | {"model": "tinyllama", "prompt": "hi"}                                 | missing_field  | "max_tokens" |
      | stream as a string      | {"model": "tinyllama", "prompt": "hi", "max_tokens": 5, "stream": "y"} | invalid_type   | "stream"     |
      | seed as a boolean       | {"model": "tinyllama", "prompt": "hi", "max_tokens": 5, "seed": true}  | invalid_type   | "seed"       |
      | a body that is an array | [1, 2, 3]                                                              | invalid_body   | null         |
      | malformed JSON          | {"model": "tinyllama", "prompt":                                       | malformed_json | null         |

  Scenario: a prompt one character over the limit is rejected, one at the limit is accepted
    When I send a POST request to "/v1/inference" on "queen" as tenant "validation" with JSON where {prompt} is "a" repeated 4097 times:
      """
      {"model": "tinyllama", "prompt": "{prompt}", "max_tokens": 2}
      """
    Then the response status is 400
    And the response JSON at "error.code" equals "prompt_too_long"
    And the response JSON at "error.field" equals "prompt"
    When I send a POST request to "/v1/inference" on "queen" as tenant "validation" with JSON where {prompt} is "a" repeated 4096 times:
      """
      {"model": "tinyllama", "prompt": "{prompt}", "max_tokens": 2}
      """
    Then the response status is 200
    And the response JSON at "tokens" equals 2

  Scenario: a body over 64 KiB is rejected with 413
    When I send a POST request to "/v1/inference" on "queen" as tenant "validation" with JSON where {prompt} is "x" repeated 70000 times:
      """
      {"model": "tinyllama", "prompt": "{prompt}", "max_tokens": 2}
      """
    Then the response status is 413
    And the response JSON at "error.code" equals "body_too_large"
    When I send a GET request to "/health"
    Then the response JSON at "status" equals "ok"
