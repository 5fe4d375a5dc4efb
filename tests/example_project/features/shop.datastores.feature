@env.shop
Feature: what the API stores is really in PostgreSQL and Redis
  The generic exec, SQL and Redis steps look into the team's own servers: a row written through
  nginx and the API is in PostgreSQL, a cached value is in Redis with its time to live, and it
  is gone once that has passed.

  Background:
    Given the default service is "nginx"
    And the PostgreSQL database of "db" is "shop" as user "shop" with the password from "db_password"

  Scenario: a row written through the API is in PostgreSQL
    When I send a POST request to "/items" with JSON:
      """
      {"name": "kettle"}
      """
    Then the response status is 201
    When I remember the response JSON at "id" as "item"
    Then the SQL query "SELECT name FROM items WHERE id = {item}" on "db" returns the value "kettle"
    And the SQL query "SELECT id, name FROM items WHERE id = {item}" on "db" returns:
      | id     | name         |
      | {item} | kettle |
    When I run "psql -U shop -d shop -tAc 'SELECT count(*) FROM items WHERE id = {item}'" in "db"
    Then the command exits with 0
    And the command's stdout equals "1"

  Scenario: a cache entry appears in Redis and expires
    When I send a PUT request to "/cache/greeting?ttl=2" with body:
      """
      hello
      """
    Then the response status is 2xx
    And the Redis key "greeting" on "cache" is "hello"
    And the Redis key "greeting" on "cache" expires within 2 seconds
    Then within 5 seconds:
      """
      Then the Redis key "greeting" on "cache" does not exist
      """
    When I send a GET request to "/cache/greeting"
    Then the response status is 404

  Scenario: the servers' own tools answer inside their containers
    When I run "redis-cli ping" in "cache"
    Then the command exits with 0
    And the command's stdout equals "PONG"
    And the file "/etc/nginx/conf.d/default.conf" in "nginx" contains "proxy_pass"
