#!/bin/sh
# One WebSocket connection: a greeting, then every text frame echoed back.
echo '{"type": "hello"}'
while read -r line; do
  echo "$line"
done
