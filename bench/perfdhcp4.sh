#!/usr/bin/env bash
# perfdhcp4.sh -- the DHCPv4 benchmark: bench/perfdhcp.sh -4 (see there for what it measures,
# its environment variables and what it needs).
exec "$(dirname "$0")/perfdhcp.sh" -4 "$@"
