@integration @websocket @p1 @env.full-stack @hive
Feature: state checked where the services keep it: commands, files and the hive's SQLite registry
  The hive keeps its workers in /data/hive-registry.db. The exec, file and SQLite steps look inside
  the running containers: a worker that joins is a row there, a killed one is removed once it misses
  its heartbeats, and a restarted one joins again.

  Scenario: the hive registry holds its joined workers, forgets a killed one and takes it back
    Then the file "/data/hive-registry.db" exists in "hive-1"
    # the stack may come from an earlier scenario's faults (a restarted hive lists its workers as
    # unconfirmed until they beat again; a worker may still finish an earlier job): wait for rest
    And within 10 seconds:
      """
      Then the SQLite query "SELECT worker_id, model, status FROM workers ORDER BY worker_id" on "/data/hive-registry.db" in "hive-1" returns:
        | worker_id  | model     | status |
        | worker-1-1 | tinyllama | ready  |
        | worker-1-2 | tinyllama | ready  |
      """
    When worker-1-2 is killed
    Then within 10 seconds:
      """
      Then the SQLite query "SELECT worker_id FROM workers WHERE worker_id = 'worker-1-2'" on "/data/hive-registry.db" in "hive-1" returns 0 rows
      """
    And the SQLite query "SELECT count(*) FROM workers" on "/data/hive-registry.db" in "hive-1" returns the value 1
    When worker-1-2 is started
    Then within 15 seconds:
      """
      Then the SQLite query "SELECT status FROM workers WHERE worker_id = 'worker-1-2'" on "/data/hive-registry.db" in "hive-1" returns the value "ready"
      """

  Scenario: a command's exit code, output and JSON, in one replica and in every replica
    When I run "ls /data" in "hive-1"
    Then the command exits with 0
    And the command's stdout contains "hive-registry.db"
    And the command's stderr is empty
    When I run "python3 -c 'import json, socket; print(json.dumps({"host": socket.gethostname(), "ok": True}))'" in "queen"
    Then the command exits with 0
    And the command's stdout JSON at "ok" equals true
    When I run "ls /no/such/dir" in every replica of "worker-2-1"
    Then the command exits with 2
    And the command's stderr contains "No such file"
    And the file "/data/hive-registry.db" in "hive-2" contains "SQLite format 3"
    And the file "/data/nothing-here" does not exist in "hive-2"
