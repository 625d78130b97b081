#!/usr/bin/env bash
# perfdhcp4-ha.sh -- DHCPv4 throughput of a hot-standby pair (Kea's libdhcp_ha.so): a pair of
# reference servers against a pair of kea-dhcp4 2.2 (each with its kea-ctrl-agent, which Kea
# 2.2 needs to receive HA commands), measured in one run on one topology: three network
# namespaces, the primary on 198.18.0.1/16 and the standby on 198.18.0.2/16 (RFC 2544
# benchmarking range), each on a veth whose other end is a port of a bridge in the third
# namespace, where perfdhcp runs on 198.18.0.3/16 acting as a relay and sends to the
# primary. Every ACK waits for the standby's acknowledgement of its lease4-update (HTTP, over
# the bridge), as in Kea. Nothing touches the default namespace.
#
# For each pair, rates are tried from low to high, PERIOD seconds each, with fresh lease files
# and the pair in hot-standby first; a rate passes when both the DISCOVER-OFFER and
# REQUEST-ACK drop ratios are under 0.1% and perfdhcp reached 99% of the rate. The sweep of a
# pair stops after two failures. Reported per rate: achieved rate, drops, the primary's CPU
# per lease, and the leases in the standby's lease file (read once the pair has stopped) per
# ACK perfdhcp got (1.00: every lease reached it; above 1: ACKs perfdhcp lost).
#
#   usage:  sudo bench/perfdhcp4-ha.sh          (cargo build --release first)
#   env:    PERIOD (s, default 10), REF_RATES, KEA_RATES (space-separated lists), KEEP (1:
#           keep the run directory), DHCPLAB (path of the binary).
# Needs root, perfdhcp (Debian kea-admin), kea-dhcp4 (kea-dhcp4-server), kea-ctrl-agent,
# python3, ip.
set -u -o pipefail

PERIOD=${PERIOD:-10}
REF_RATES=${REF_RATES:-"500 1000 2000 3000 4000 5000 6000 8000"}
KEA_RATES=${KEA_RATES:-"500 1000 2000 3000 4000 5000 6000 8000"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DHCPLAB=${DHCPLAB:-$ROOT/target/release/dhcplab}
PREFIX=dlbenchha-$$
NS1=$PREFIX-1
NS2=$PREFIX-2
NSC=$PREFIX-c
RUN=$(mktemp -d -t "$PREFIX.XXXXXX")
PIDS=()

. "$(dirname "$0")/common.sh"

stop_all() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    PIDS=()
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_all
    remove_run "$NS1" "$NS2" "$NSC"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need ip perfdhcp kea-dhcp4 kea-ctrl-agent python3 timeout

ip netns add "$NS1" && ip netns add "$NS2" && ip netns add "$NSC" || die "cannot create namespaces"
for ns in "$NS1" "$NS2" "$NSC"; do ip -n "$ns" link set lo up; done
ip -n "$NSC" link add br0 type bridge
ip -n "$NSC" addr add 198.18.0.3/16 dev br0
ip -n "$NSC" link set br0 up
for n in 1 2; do
    ns=$PREFIX-$n
    ip -n "$ns" link add "v-$n" type veth peer name "p-$n" netns "$NSC"
    ip -n "$ns" addr add "198.18.0.$n/16" dev "v-$n"
    ip -n "$ns" link set "v-$n" up
    ip -n "$NSC" link set "p-$n" master br0
    ip -n "$NSC" link set "p-$n" up
done

# One configuration for both pairs: memfile with persist, ~65k addresses, hot-standby with
# Kea's defaults but a 1 s heartbeat (the pair is up sooner).
write_config() {   # write_config DIR NAME N
    local d=$1 name=$2 n=$3
    cat > "$d/config.json" <<EOF
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "v-$n" ], "dhcp-socket-type": "raw" },
    "control-socket": { "socket-type": "unix", "socket-name": "$d/ctrl.sock" },
    "lease-database": { "type": "memfile", "persist": true, "name": "$d/leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800,
    "hooks-libraries": [
      { "library": "$(hook libdhcp_lease_cmds.so)" },
      { "library": "$(hook libdhcp_ha.so)",
        "parameters": { "high-availability": [ {
          "this-server-name": "$name", "mode": "hot-standby", "heartbeat-delay": 1000,
          "peers": [ { "name": "server1", "url": "http://198.18.0.1:8000/", "role": "primary" },
                     { "name": "server2", "url": "http://198.18.0.2:8000/", "role": "standby" } ] } ] } } ],
    "subnet4": [ { "id": 2, "subnet": "198.18.0.0/16",
                   "pools": [ { "pool": "198.18.1.0 - 198.18.255.254" } ],
                   "option-data": [ { "name": "routers", "data": "198.18.0.1" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN", "output_options": [ { "output": "$d/server.log" } ] } ]
} }
EOF
    cat > "$d/ca.json" <<EOF
{ "Control-agent": { "http-host": "198.18.0.$n", "http-port": 8000,
    "control-sockets": { "dhcp4": { "socket-type": "unix", "socket-name": "$d/ctrl.sock" } },
    "loggers": [ { "name": "kea-ctrl-agent", "severity": "WARN", "output_options": [ { "output": "$d/ca.log" } ] } ] } }
EOF
}

hook() {   # where this machine's Kea keeps hook library $1
    local f
    for f in /usr/lib/*/kea/hooks/"$1" /usr/lib/kea/hooks/"$1"; do
        [ -e "$f" ] && { echo "$f"; return; }
    done
    echo "$1"
}

command_to() {   # command_to SOCKET JSON: the answer
    python3 - "$1" "$2" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
try:
    s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()); s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    print(out.decode(errors="replace"))
except OSError as e:
    print("{}")
EOF
}

ha_state() {   # ha_state DIR
    command_to "$1/ctrl.sock" '{"command": "status-get"}' | python3 -c '
import json, sys
try:
    a = json.load(sys.stdin)
    print(a["arguments"]["high-availability"][0]["ha-servers"]["local"]["state"])
except Exception:
    print("none")'
}

start_pair() {   # start_pair reference|kea
    local kind=$1 n d
    for n in 1 2; do
        d=$RUN/$kind-$n
        rm -rf "$d"; mkdir -p "$d"
        write_config "$d" "server$n" "$n"
        case $kind in
        reference) ip netns exec "$PREFIX-$n" "$DHCPLAB" server -c "$d/config.json" > "$d/server.out" 2>&1 & PIDS+=($!) ;;
        kea)
            KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$PREFIX-$n" kea-dhcp4 -c "$d/config.json" > "$d/server.out" 2>&1 & PIDS+=($!)
            for _ in $(seq 100); do [ -S "$d/ctrl.sock" ] && break; sleep 0.05; done
            KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$PREFIX-$n" kea-ctrl-agent -c "$d/ca.json" > "$d/ca.out" 2>&1 & PIDS+=($!) ;;
        esac
    done
    for _ in $(seq 300); do
        if [ "$(ha_state "$RUN/$kind-1")" = hot-standby ] && [ "$(ha_state "$RUN/$kind-2")" = hot-standby ]; then
            SPID=${PIDS[0]}
            return 0
        fi
        sleep 0.1
    done
    cat "$RUN/$kind-1/server.out" "$RUN/$kind-2/server.out" >&2
    die "$kind pair did not reach hot-standby"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
acks_of() { awk '/Statistics for: REQUEST-ACK/ {f=1} f && /received packets:/ {print $3; exit}' "$1"; }
standby_leases() {   # addresses with a lease in the standby's lease file
    awk -F, 'NR > 1 && $4 > 0 {a[$1] = 1} END {print length(a)}' "$1/leases4.csv" 2>/dev/null || echo 0
}

HZ=$(getconf CLK_TCK)
printf '# perfdhcp4-ha.sh %s, %s, period %s s\n' "$(date -u +%FT%TZ)" "$(uname -r)" "$PERIOD"
printf '# %s\n# %s\n\n' "$("$DHCPLAB" --version)" "$(kea-dhcp4 -v)"
declare -A BEST
for kind in reference kea; do
    if [ $kind = reference ]; then rates=$REF_RATES; else rates=$KEA_RATES; fi
    printf '## %s pair\n\n| rate asked | achieved | DO drops %% | RA drops %% | primary CPU µs per lease | standby leases per ACK | pass |\n|---|---|---|---|---|---|---|\n' "$kind"
    BEST[$kind]=0
    failures=0
    for rate in $rates; do
        start_pair $kind
        out=$RUN/$kind-$rate.txt
        t0=$(cpu_ticks "$SPID")
        timeout $((PERIOD + 30)) ip netns exec "$NSC" perfdhcp -4 -g single -r "$rate" -R 65000 \
            -p "$PERIOD" -l br0 198.18.0.1 > "$out" 2>&1
        t1=$(cpu_ticks "$SPID")
        stop_all
        held=$(standby_leases "$RUN/$kind-2")
        achieved=$(awk '/^Rate:/ {print $2; exit}' "$out")
        drops=$(awk '/drops ratio:/ {print $3}' "$out" | paste -sd' ')
        do_drop=$(echo "$drops" | awk '{print $1+0}')
        ra_drop=$(echo "$drops" | awk '{print $2+0}')
        acks=$(acks_of "$out")
        acks=${acks:-0}
        per_lease=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v a="$acks" 'BEGIN { if (a > 0) printf "%.0f", t / hz * 1e6 / a; else print "-" }')
        per_ack=$(awk -v h="$held" -v a="$acks" 'BEGIN { if (a > 0) printf "%.2f", h / a; else print "-" }')
        pass=$(awk -v d="$do_drop" -v r="$ra_drop" -v got="${achieved:-0}" -v want="$rate" \
            'BEGIN { print (d < 0.1 && r < 0.1 && got >= 0.99 * want) ? "yes" : "no" }')
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$rate" "${achieved:-?}" "$do_drop" "$ra_drop" "$per_lease" "$per_ack" "$pass"
        if [ "$pass" = yes ]; then BEST[$kind]=$rate; else failures=$((failures + 1)); fi
        [ "$failures" -ge 2 ] && break
    done
    echo
done
printf 'highest rate passed: reference pair %s/s, kea pair %s/s, ratio %s\n' "${BEST[reference]}" "${BEST[kea]}" \
    "$(awk -v r="${BEST[reference]}" -v k="${BEST[kea]}" 'BEGIN { if (k > 0) printf "%.2f", r / k; else print "-" }')"
