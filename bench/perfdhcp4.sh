#!/usr/bin/env bash
# perfdhcp4.sh -- DHCPv4 throughput of the reference server against kea-dhcp4 2.2, measured in
# one run on one topology: two network namespaces joined by a veth pair, the server on
# 198.18.0.1/16 (RFC 2544 benchmarking range), perfdhcp on 198.18.0.2/16 acting as a relay.
# Nothing touches the default namespace.
#
# For each server, rates are tried from low to high, PERIOD seconds each with a fresh lease
# file; a rate passes when both the DISCOVER-OFFER and REQUEST-ACK drop ratios are under
# 0.1% and perfdhcp reached 99% of the rate. The sweep of a server stops after two failures.
# Reported per rate: achieved rate, drops, the server's CPU time (all threads, user + system)
# per lease and as a share of one core.
# Then memory: each server, fresh, is given MEM_LEASES leases at MEM_RATE/s (a rate both
# sustain) and the growth of its resident memory (VmRSS) is divided by the leases it ACKed.
#
#   usage:  sudo bench/perfdhcp4.sh            (cargo build --release first)
#   env:    PERIOD (s, default 10), PIN (1: server on CPU 0 and perfdhcp on CPU 1, so neither
#           steals the other's core; 0: let the scheduler share both, as realstacks.md did),
#           REF_RATES, KEA_RATES (space-separated lists), MEM_LEASES (default 60000, at most
#           the pool's 65,279), MEM_RATE (default 4000), PERSIST (false: no lease file, to
#           see its cost), KEEP (1: keep the run directory, its logs and perfdhcp reports),
#           DHCPLAB (path of the binary).
# Needs root, perfdhcp (Debian kea-admin), kea-dhcp4 (kea-dhcp4-server), taskset, ip.
set -u -o pipefail

PERIOD=${PERIOD:-10}
PIN=${PIN:-1}
REF_RATES=${REF_RATES:-"10000 15000 20000 25000 30000 35000 40000"}
KEA_RATES=${KEA_RATES:-"5000 10000 15000 20000 25000 30000"}
MEM_LEASES=${MEM_LEASES:-60000}
MEM_RATE=${MEM_RATE:-4000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DHCPLAB=${DHCPLAB:-$ROOT/target/release/dhcplab}
PREFIX=dlbench-$$
NS_S=$PREFIX-s
NS_C=$PREFIX-c
RUN=$(mktemp -d -t "$PREFIX.XXXXXX")
SPID=

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "perfdhcp4.sh: $*"; exit 2; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
    for ns in "$NS_S" "$NS_C"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ "${KEEP:-0}" = 1 ]; then log "run directory kept: $RUN"; else rm -rf "$RUN"; fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
for b in ip perfdhcp kea-dhcp4 taskset timeout; do
    command -v "$b" >/dev/null || die "missing $b"
done
[ -x "$DHCPLAB" ] || die "no $DHCPLAB: run cargo build --release"

ip netns add "$NS_S" && ip netns add "$NS_C" || die "cannot create namespaces"
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link add v-srv type veth peer name v-cli netns "$NS_C"
ip -n "$NS_S" addr add 198.18.0.1/16 dev v-srv
ip -n "$NS_C" addr add 198.18.0.2/16 dev v-cli
ip -n "$NS_S" link set v-srv up
ip -n "$NS_C" link set v-cli up

pin() { if [ "$PIN" = 1 ]; then echo "taskset -c $1"; fi; }

# The same configuration for both servers, as realstacks/kea4-perf.json: memfile with
# persist, no lease file cleanup during the run, ~65k addresses.
write_config() {   # write_config FILE LEASES LOG
    cat > "$1" <<EOF
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "v-srv/198.18.0.1" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": ${PERSIST:-true}, "name": "$2", "lfc-interval": 0 },
    "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800,
    "subnet4": [ { "id": 2, "subnet": "198.18.0.0/16",
                   "pools": [ { "pool": "198.18.1.0 - 198.18.255.254" } ],
                   "option-data": [ { "name": "routers", "data": "198.18.0.1" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN", "output_options": [ { "output": "$3" } ] } ]
} }
EOF
}

start_server() {   # start_server NAME -> SPID
    local name=$1 d=$RUN/$1
    rm -rf "$d"; mkdir -p "$d"
    write_config "$d/config.json" "$d/leases4.csv" "$d/server.log"
    case $name in
    reference) ip netns exec "$NS_S" $(pin 0) "$DHCPLAB" server -c "$d/config.json" > "$d/server.out" 2>&1 & ;;
    kea) KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$NS_S" $(pin 0) kea-dhcp4 -c "$d/config.json" > "$d/server.out" 2>&1 & ;;
    esac
    SPID=$!
    local i
    for i in $(seq 100); do
        ip netns exec "$NS_S" ss -Hlun "sport = :67" | grep -q ':67' && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$d/server.out" >&2
    die "$name did not start"
}

stop_server() {
    kill -TERM "$SPID" 2>/dev/null
    local i
    for i in $(seq 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SPID" 2>/dev/null
    wait "$SPID" 2>/dev/null
    SPID=
}

rss_kib() {   # resident memory of the server
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

acks_of() {   # REQUEST-ACK exchanges perfdhcp completed, from its report
    awk '/Statistics for: REQUEST-ACK/ {f=1} f && /received packets:/ {print $3; exit}' "$1"
}

rcvbuf_errors() {   # UDP datagrams dropped for a full receive buffer in namespace $1
    ip netns exec "$1" awk '/^Udp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) c[$i] = i; else print $c["RcvbufErrors"]}' /proc/net/snmp
}

cpu_ticks() {   # user + system ticks of every thread of the server
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

HZ=$(getconf CLK_TCK)
printf '# perfdhcp4.sh %s, %s, period %s s, pinned %s\n' "$(date -u +%FT%TZ)" "$(uname -r)" "$PERIOD" "$PIN"
printf '# %s\n# %s\n\n' "$("$DHCPLAB" --version)" "$(kea-dhcp4 -v)"
declare -A BEST
for server in reference kea; do
    if [ $server = reference ]; then rates=$REF_RATES; else rates=$KEA_RATES; fi
    printf '## %s\n\n| rate asked | achieved | DO drops %% | RA drops %% | server CPU %% of a core | server CPU µs per lease | perfdhcp receive-buffer drops | pass |\n|---|---|---|---|---|---|---|---|\n' "$server"
    BEST[$server]=0
    failures=0
    for rate in $rates; do
        start_server $server
        out=$RUN/$server-$rate.txt
        t0=$(cpu_ticks "$SPID"); e0=$(rcvbuf_errors "$NS_C")
        timeout $((PERIOD + 30)) ip netns exec "$NS_C" $(pin 1) perfdhcp -4 -g single -r "$rate" -R 50000 \
            -p "$PERIOD" -l v-cli 198.18.0.1 > "$out" 2>&1
        t1=$(cpu_ticks "$SPID"); e1=$(rcvbuf_errors "$NS_C")
        stop_server
        achieved=$(awk '/^Rate:/ {print $2; exit}' "$out")
        drops=$(awk '/drops ratio:/ {print $3}' "$out" | paste -sd' ')
        do_drop=${drops%% *}; ra_drop=${drops##* }
        acks=$(acks_of "$out")
        [ -n "$achieved" ] && [ -n "$acks" ] && [ "$acks" -gt 0 ] || { cat "$out" >&2; die "perfdhcp failed at $rate/s against $server"; }
        cpu_pct=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v p="$PERIOD" 'BEGIN {printf "%.0f", 100 * t / hz / p}')
        us_per=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$acks" 'BEGIN {printf "%.1f", 1e6 * t / hz / n}')
        pass=$(awk -v a="$achieved" -v r="$rate" -v d="$do_drop" -v q="$ra_drop" \
            'BEGIN {print (a >= 0.99 * r && d < 0.1 && q < 0.1) ? "yes" : "no"}')
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$rate" "$achieved" "$do_drop" "$ra_drop" "$cpu_pct" "$us_per" "$((e1 - e0))" "$pass"
        if [ "$pass" = yes ]; then
            BEST[$server]=$rate; failures=0
        else
            failures=$((failures + 1))
            [ $failures -ge 2 ] && break
        fi
    done
    echo
done
printf 'Highest rate with under 0.1%% drops: reference %s/s, kea-dhcp4 %s/s' "${BEST[reference]}" "${BEST[kea]}"
if [ "${BEST[kea]}" -gt 0 ]; then
    awk -v a="${BEST[reference]}" -v b="${BEST[kea]}" 'BEGIN {printf " (ratio %.2f)\n", a / b}'
else
    echo
fi

printf '\n## Memory: resident growth per lease, %s leases at %s/s\n\n| server | leases ACKed | VmRSS before (KiB) | VmRSS after (KiB) | bytes per lease |\n|---|---|---|---|---|\n' "$MEM_LEASES" "$MEM_RATE"
declare -A PER_LEASE
for server in reference kea; do
    start_server $server
    out=$RUN/$server-memory.txt
    before=$(rss_kib "$SPID")
    timeout $((MEM_LEASES / MEM_RATE + 60)) ip netns exec "$NS_C" $(pin 1) perfdhcp -4 -g single -r "$MEM_RATE" \
        -R "$MEM_LEASES" -n "$MEM_LEASES" -l v-cli 198.18.0.1 > "$out" 2>&1
    after=$(rss_kib "$SPID")
    stop_server
    acks=$(acks_of "$out")
    [ -n "$acks" ] && [ "$acks" -gt 0 ] || { cat "$out" >&2; die "perfdhcp failed in the memory run against $server"; }
    PER_LEASE[$server]=$(awk -v a="$after" -v b="$before" -v n="$acks" 'BEGIN {printf "%.0f", 1024 * (a - b) / n}')
    printf '| %s | %s | %s | %s | %s |\n' "$server" "$acks" "$before" "$after" "${PER_LEASE[$server]}"
done
awk -v a="${PER_LEASE[reference]}" -v b="${PER_LEASE[kea]}" 'BEGIN {if (a > 0) printf "\nkea-dhcp4 uses %.1fx the reference server'"'"'s resident memory per lease\n", b / a}'
