@integration @websocket @p1 @env.full-stack @queen @serial
Feature: many subscribers on the event channel while the queen is under load
  Fifty tenants each hold a WebSocket on /v1/events while each sends inference requests. Every
  accepted job's final event must reach its own tenant's subscriber, and quickly: latency runs
  from the publication time each frame carries to its receipt.

  Scenario: 50 subscribers under load receive at least 99% of their jobs' events, p99 bounded
    When 50 subscribers open WebSockets to "/v1/events" on "queen" as a tenant per client
    And 50 clients each send 2 inference requests concurrently
    Then at least 99% succeed
    When the subscribers wait up to 15 seconds for every accepted job to finish
    Then at least 99% of the messages were delivered
    And no WebSocket connection failed
    And the p99 latency is below 1000 ms
    And the throughput is at least 50 requests per second
