#!/usr/bin/env bash
# perfdhcp.sh -4|-6 -- DHCP throughput of the reference server against Kea 2.2 (kea-dhcp4 or
# kea-dhcp6), measured in one run on one topology: two network namespaces joined by a veth
# pair. Nothing touches the default namespace; the namespaces (dlbench-PID-s, -c), the veth
# pair in them and the run directory are removed on exit, error or interrupt.
#   -4: the server on 198.18.0.1/16 (RFC 2544 benchmarking range), perfdhcp on 198.18.0.2/16
#       acting as a relay (it sends from port 67 with giaddr set); DORA exchanges.
#   -6: the server on v-srv (its link-local address, and 2001:db8::1/64 for the subnet),
#       perfdhcp -6 on v-cli as clients on the link, sending to ff02::1:2 from its link-local
#       address (DAD off in both namespaces); Solicit-Advertise-Request-Reply exchanges; one
#       /64 of 2001:db8::/32 with a pool of 2^32 addresses, selected by its `interface`.
#
# Rates are tried from low to high, PERIOD seconds each with a fresh lease file, the two
# servers one after the other at each rate (so both meet a shared machine in the same state);
# a try passes when both exchanges' drop ratios are under 0.1% and perfdhcp reached 99% of the
# rate; a rate passes when one of TRIES tries does. A server's sweep stops after two failed
# rates in a row.
# Reported per rate: achieved rate, drops, the server's CPU time (all threads, user + system)
# per lease and as a share of one core, perfdhcp's own CPU time as a share of a core (whether
# the generator, not the server, is what limits the rate), and the UDP datagrams each side's kernel dropped for a
# full receive buffer (where a drop happened: perfdhcp not reading fast enough, or the server).
# Then memory: each server, fresh, is given MEM_LEASES leases at MEM_RATE/s (a rate both
# sustain) and the growth of its resident memory (VmRSS) is divided by the leases it granted.
#
#   usage:  sudo bench/perfdhcp.sh -4|-6      (cargo build --release first)
#   env:    PERIOD (s, default 10), PIN (1: server on CPU 0 and perfdhcp on CPU 1, so neither
#           steals the other's core; 0: let the scheduler share both, as realstacks.md did),
#           REF_RATES, KEA_RATES (space-separated lists), TRIES (default 1), MEM_LEASES (default 60000; for -4 at
#           most the pool's 65,279), MEM_RATE (default 4000; 0 skips the memory part),
#           PERSIST (false: no lease file, to see its cost), KEEP (1: keep the run directory,
#           its logs and perfdhcp reports), DHCPLAB (path of the binary), RCVBUF (bytes: give
#           perfdhcp's UDP sockets this receive buffer through a small LD_PRELOAD shim built
#           with cc, since perfdhcp has no option for it and net.core.rmem_default is global;
#           the kernel caps it at net.core.rmem_max; default 0: perfdhcp as it is).
# Needs root, perfdhcp (Debian kea-admin), kea-dhcp4 (kea-dhcp4-server) or kea-dhcp6
# (kea-dhcp6-server), taskset, ip.
set -u -o pipefail

case ${1:-} in
-4) V=4; KEA=kea-dhcp4; PORT=67; FIRST=DISCOVER-OFFER; SECOND=REQUEST-ACK; RANGE=50000 ;;
-6) V=6; KEA=kea-dhcp6; PORT=547; FIRST=SOLICIT-ADVERTISE; SECOND=REQUEST-REPLY; RANGE=1000000 ;;
*) echo "usage: $0 -4|-6" >&2; exit 2 ;;
esac
PERIOD=${PERIOD:-10}
PIN=${PIN:-1}
if [ $V = 4 ]; then
    REF_RATES=${REF_RATES:-"10000 15000 20000 25000 30000 35000 40000"}
    KEA_RATES=${KEA_RATES:-"5000 10000 15000 20000 25000 30000"}
else
    REF_RATES=${REF_RATES:-"5000 10000 15000 20000 25000 30000 35000 40000"}
    KEA_RATES=${KEA_RATES:-"1000 2000 3000 4000 5000 6000 8000 10000 12000 15000"}
fi
TRIES=${TRIES:-1}
MEM_LEASES=${MEM_LEASES:-60000}
MEM_RATE=${MEM_RATE:-4000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DHCPLAB=${DHCPLAB:-$ROOT/target/release/dhcplab}
PREFIX=dlbench-$$
NS_S=$PREFIX-s
NS_C=$PREFIX-c
RUN=$(mktemp -d -t "$PREFIX.XXXXXX")
SPID=

. "$(dirname "$0")/common.sh"

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null
    remove_run "$NS_S" "$NS_C"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need ip perfdhcp $KEA taskset timeout

ip netns add "$NS_S" && ip netns add "$NS_C" || die "cannot create namespaces"
for ns in "$NS_S" "$NS_C"; do
    ip -n "$ns" link set lo up
    # DAD off before the links exist, so link-local addresses are usable at once.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n "$NS_S" link add v-srv type veth peer name v-cli netns "$NS_C"
# The peer is made before the client namespace's default reaches it.
ip netns exec "$NS_C" sysctl -qw net.ipv6.conf.v-cli.accept_dad=0
if [ $V = 4 ]; then
    ip -n "$NS_S" addr add 198.18.0.1/16 dev v-srv
    ip -n "$NS_C" addr add 198.18.0.2/16 dev v-cli
else
    ip -n "$NS_S" addr add 2001:db8::1/64 dev v-srv nodad
fi
ip -n "$NS_S" link set v-srv up
ip -n "$NS_C" link set v-cli up
if [ $V = 6 ]; then
    ready=
    for _ in $(seq 50); do
        a=$(ip -n "$NS_C" -6 -o addr show dev v-cli scope link)
        case $a in *fe80::*) case $a in *tentative*) ;; *) ready=1; break ;; esac ;; esac
        sleep 0.1
    done
    [ -n "$ready" ] || die "v-cli has no usable link-local address"
fi

pin() { if [ "$PIN" = 1 ]; then echo "taskset -c $1"; fi; }

# The same configuration for both servers, as realstacks/kea4-perf.json: memfile with
# persist, no lease file cleanup during the run; -4: ~65k addresses, -6: 2^32 addresses.
write_config() {   # write_config DIR
    local d=$1
    if [ $V = 4 ]; then
        cat > "$d/config.json" <<EOF
{ "Dhcp4": {
    "interfaces-config": { "interfaces": [ "v-srv/198.18.0.1" ], "dhcp-socket-type": "raw" },
    "lease-database": { "type": "memfile", "persist": ${PERSIST:-true}, "name": "$d/leases4.csv", "lfc-interval": 0 },
    "valid-lifetime": 3600, "renew-timer": 900, "rebind-timer": 1800,
    "subnet4": [ { "id": 2, "subnet": "198.18.0.0/16",
                   "pools": [ { "pool": "198.18.1.0 - 198.18.255.254" } ],
                   "option-data": [ { "name": "routers", "data": "198.18.0.1" } ] } ],
    "loggers": [ { "name": "kea-dhcp4", "severity": "WARN", "output_options": [ { "output": "$d/server.log" } ] } ]
} }
EOF
    else
        cat > "$d/config.json" <<EOF
{ "Dhcp6": {
    "interfaces-config": { "interfaces": [ "v-srv" ] },
    "data-directory": "$d",
    "lease-database": { "type": "memfile", "persist": ${PERSIST:-true}, "name": "$d/leases6.csv", "lfc-interval": 0 },
    "preferred-lifetime": 3000, "valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000,
    "subnet6": [ { "id": 2, "subnet": "2001:db8::/64", "interface": "v-srv",
                   "pools": [ { "pool": "2001:db8::1:0:0 - 2001:db8::1:ffff:ffff" } ],
                   "option-data": [ { "name": "dns-servers", "data": "2001:db8::1" } ] } ],
    "loggers": [ { "name": "kea-dhcp6", "severity": "WARN", "output_options": [ { "output": "$d/server.log" } ] } ]
} }
EOF
    fi
}

start_server() {   # start_server NAME -> SPID
    local name=$1 d=$RUN/$1
    rm -rf "$d"; mkdir -p "$d"
    write_config "$d"
    case $name in
    reference) ip netns exec "$NS_S" $(pin 0) "$DHCPLAB" server -c "$d/config.json" > "$d/server.out" 2>&1 & ;;
    kea) KEA_PIDFILE_DIR=$d KEA_LOCKFILE_DIR=$d ip netns exec "$NS_S" $(pin 0) $KEA -c "$d/config.json" > "$d/server.out" 2>&1 & ;;
    esac
    SPID=$!
    local i
    for i in $(seq 100); do
        ip netns exec "$NS_S" ss -Hlun "sport = :$PORT" | grep -q ":$PORT" && return 0
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

# With RCVBUF, a shim that gives every UDP socket perfdhcp opens that receive buffer.
PRELOAD=
if [ "${RCVBUF:-0}" -gt 0 ]; then
    command -v cc >/dev/null || die "RCVBUF needs cc"
    cat > "$RUN/rcvbuf.c" <<EOF
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
int socket(int domain, int type, int protocol) {
    static int (*real)(int, int, int);
    if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    int fd = real(domain, type, protocol);
    if (fd >= 0 && (domain == AF_INET || domain == AF_INET6) && (type & 0xf) == SOCK_DGRAM) {
        int size = $RCVBUF;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
    return fd;
}
EOF
    cc -shared -fPIC -O2 -o "$RUN/rcvbuf.so" "$RUN/rcvbuf.c" -ldl || die "cannot build the RCVBUF shim"
    PRELOAD=$RUN/rcvbuf.so
fi

# perfdhcp from the client namespace, bounded by LIMIT seconds: -4 as a relay to the
# server's address, -6 as clients on the link (to ff02::1:2).
perfdhcp_run() {   # perfdhcp_run LIMIT OUT ARGS...
    local limit=$1 out=$2 target
    shift 2
    if [ $V = 4 ]; then target=(-4 -g single "$@" -l v-cli 198.18.0.1); else target=(-6 -g single "$@" -l v-cli); fi
    timeout "$limit" ip netns exec "$NS_C" $(pin 1) env ${PRELOAD:+LD_PRELOAD=$PRELOAD} perfdhcp "${target[@]}" > "$out" 2>&1
}

rss_kib() {   # resident memory of the server
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

acks_of() {   # second exchanges (REQUEST-ACK, REQUEST-REPLY) perfdhcp completed, from its report
    awk -v x="Statistics for: $SECOND" 'index($0, x) {f=1} f && /received packets:/ {print $3; exit}' "$1"
}

rcvbuf_errors() {   # UDP datagrams dropped for a full receive buffer in namespace $1
    if [ $V = 4 ]; then
        ip netns exec "$1" awk '/^Udp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) c[$i] = i; else print $c["RcvbufErrors"]}' /proc/net/snmp
    else
        ip netns exec "$1" awk '$1 == "Udp6RcvbufErrors" {print $2}' /proc/net/snmp6
    fi
}

cpu_ticks() {   # user + system ticks of every thread of the server
    awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}

children_seconds() {   # CHILDREN_S: user + system seconds of this shell's finished children (perfdhcp
    # among them); not in a command substitution, whose subshell has no finished children
    times > "$RUN/times"
    CHILDREN_S=$(awk 'NR == 2 {t = 0; for (i = 1; i <= 2; i++) {split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2]}; print t}' "$RUN/times")
}

HZ=$(getconf CLK_TCK)
printf '# perfdhcp.sh -%s %s, %s, period %s s, pinned %s, perfdhcp receive buffer %s\n' "$V" "$(date -u +%FT%TZ)" "$(uname -r)" "$PERIOD" "$PIN" "${RCVBUF:-default}"
printf '# %s\n# %s %s\n# load before the run:%s\n\n' "$("$DHCPLAB" --version)" "$KEA" "$($KEA -v)" "$(uptime)"
# One try of SERVER at RATE: a table row in ROWS[SERVER]; PASSED=yes|no.
try_rate() {   # try_rate SERVER RATE
    local server=$1 rate=$2 out t0 t1 e0 e1 s0 s1 g0 g1 gen_pct achieved drops first_drop second_drop acks cpu_pct us_per
    start_server "$server"
    out=$RUN/$server-$rate-$(date +%s%N).txt
    t0=$(cpu_ticks "$SPID"); e0=$(rcvbuf_errors "$NS_C"); s0=$(rcvbuf_errors "$NS_S"); children_seconds; g0=$CHILDREN_S
    perfdhcp_run $((PERIOD + 30)) "$out" -r "$rate" -R "$RANGE" -p "$PERIOD" -n $((rate * PERIOD))
    t1=$(cpu_ticks "$SPID"); e1=$(rcvbuf_errors "$NS_C"); s1=$(rcvbuf_errors "$NS_S"); children_seconds; g1=$CHILDREN_S
    stop_server
    achieved=$(awk '/^Rate:/ {print $2; exit}' "$out")
    drops=$(awk '/drops ratio:/ {print $3}' "$out" | paste -sd' ')
    first_drop=${drops%% *}; second_drop=${drops##* }
    acks=$(acks_of "$out")
    [ -n "$achieved" ] && [ -n "$acks" ] && [ "$acks" -gt 0 ] || { cat "$out" >&2; die "perfdhcp failed at $rate/s against $server"; }
    cpu_pct=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v p="$PERIOD" 'BEGIN {printf "%.0f", 100 * t / hz / p}')
    gen_pct=$(awk -v t="$(awk -v a="$g0" -v b="$g1" 'BEGIN {print b - a}')" -v p="$PERIOD" 'BEGIN {printf "%.0f", 100 * t / p}')
    us_per=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$acks" 'BEGIN {printf "%.1f", 1e6 * t / hz / n}')
    PASSED=$(awk -v a="$achieved" -v r="$rate" -v d="$first_drop" -v q="$second_drop" \
        'BEGIN {print (a >= 0.99 * r && d < 0.1 && q < 0.1) ? "yes" : "no"}')
    ROWS[$server]+=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$rate" "$achieved" "$first_drop" "$second_drop" "$cpu_pct" "$us_per" "$gen_pct" "$((e1 - e0))" "$((s1 - s0))" "$PASSED")$'\n'
}

# The sweep: rates in increasing order, the two servers one after the other at each rate (so
# both meet the machine in the same state); a rate passes for a server when one of TRIES
# tries passes; a server's sweep ends after two rates failed in a row.
declare -A BEST ROWS FAILURES
for server in reference kea; do BEST[$server]=0; FAILURES[$server]=0; ROWS[$server]=; done
for rate in $(printf '%s\n' $REF_RATES $KEA_RATES | sort -nu); do
    for server in reference kea; do
        if [ $server = reference ]; then rates=" $REF_RATES "; else rates=" $KEA_RATES "; fi
        case $rates in *" $rate "*) ;; *) continue ;; esac
        [ "${FAILURES[$server]}" -ge 2 ] && continue
        passed=no
        for _ in $(seq "$TRIES"); do
            try_rate $server "$rate"
            if [ "$PASSED" = yes ]; then passed=yes; break; fi
        done
        if [ $passed = yes ]; then
            BEST[$server]=$rate; FAILURES[$server]=0
        else
            FAILURES[$server]=$((FAILURES[$server] + 1))
        fi
    done
done
for server in reference kea; do
    printf '## %s\n\n| rate asked | achieved | %s drops %% | %s drops %% | server CPU %% of a core | server CPU µs per lease | perfdhcp CPU %% of a core | perfdhcp receive-buffer drops | server receive-buffer drops | pass |\n|---|---|---|---|---|---|---|---|---|---|\n%s\n' "$server" "$FIRST" "$SECOND" "${ROWS[$server]}"
done
printf 'Highest rate with under 0.1%% drops: reference %s/s, %s %s/s' "${BEST[reference]}" "$KEA" "${BEST[kea]}"
if [ "${BEST[kea]}" -gt 0 ]; then
    awk -v a="${BEST[reference]}" -v b="${BEST[kea]}" 'BEGIN {printf " (ratio %.2f)\n", a / b}'
else
    echo
fi

[ "$MEM_RATE" -gt 0 ] || exit 0
printf '\n## Memory: resident growth per lease, %s leases at %s/s\n\n| server | leases granted | VmRSS before (KiB) | VmRSS after (KiB) | bytes per lease |\n|---|---|---|---|---|\n' "$MEM_LEASES" "$MEM_RATE"
declare -A PER_LEASE
for server in reference kea; do
    start_server $server
    out=$RUN/$server-memory.txt
    before=$(rss_kib "$SPID")
    perfdhcp_run $((MEM_LEASES / MEM_RATE + 60)) "$out" -r "$MEM_RATE" -R "$MEM_LEASES" -n "$MEM_LEASES"
    after=$(rss_kib "$SPID")
    stop_server
    acks=$(acks_of "$out")
    [ -n "$acks" ] && [ "$acks" -gt 0 ] || { cat "$out" >&2; die "perfdhcp failed in the memory run against $server"; }
    PER_LEASE[$server]=$(awk -v a="$after" -v b="$before" -v n="$acks" 'BEGIN {printf "%.0f", 1024 * (a - b) / n}')
    printf '| %s | %s | %s | %s | %s |\n' "$server" "$acks" "$before" "$after" "${PER_LEASE[$server]}"
done
awk -v k="$KEA" -v a="${PER_LEASE[reference]}" -v b="${PER_LEASE[kea]}" 'BEGIN {if (a > 0) printf "\n%s uses %.1fx the reference server'"'"'s resident memory per lease\n", k, b / a}'
