# common.sh -- what the benchmark scripts share, sourced by them: logging, the start checks,
# and the removal of a run's namespaces (with every process still in them) and directory.
# Each script sets RUN (its run directory) and DHCPLAB (the binary) before using these.

log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }
die() { log "$(basename "$0"): $*"; exit 2; }

# Dies unless run as root with every program named and the dhcplab binary built.
need() {   # need PROGRAM...
    local b
    [ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
    for b in "$@"; do
        command -v "$b" >/dev/null || die "missing $b"
    done
    [ -x "$DHCPLAB" ] || die "no $DHCPLAB: run cargo build --release"
}

# Kills what still runs in each namespace, deletes the namespaces (their veth and bridge
# devices go with them), and removes the run directory unless KEEP=1.
remove_run() {   # remove_run NAMESPACE...
    local ns p
    for ns in "$@"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
        ip netns del "$ns" 2>/dev/null
    done
    if [ "${KEEP:-0}" = 1 ]; then log "run directory kept: $RUN"; else rm -rf "$RUN"; fi
}
