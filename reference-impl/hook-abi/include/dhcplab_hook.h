/*
 * dhcplab_hook.h: the C ABI of dhcplab hook libraries (version 1).
 *
 * The reference server loads the libraries its Kea configuration lists under
 * "hooks-libraries", in that order, and at each hook point calls every library that exports
 * a function named after it (Kea's callout names: pkt4_receive, lease4_select, ...). Every
 * callout runs, even after an earlier one set SKIP or DROP; the status the last one leaves
 * is what the server does, as in Kea.
 *
 * A library exports:
 *   uint32_t version(void);                                  required: DHCPLAB_HOOK_ABI_VERSION
 *   int32_t  load(const char *parameters, void **instance);  optional: 0 to go on
 *   const char *load_error(void);                            optional: why load() failed
 *   int32_t  unload(void *instance);                         optional
 *   int32_t  <hook point>(struct dhcplab_callout *call);    one per hook point it serves
 *
 * load() gets the library's "parameters" map as JSON text ("{}" when there is none) and may
 * set *instance; callouts and unload() get it back. The same file listed twice is loaded
 * once by the system, so its static data is shared, but each entry gets its own instance.
 * A non-zero return from load() refuses the configuration (at start the server does not
 * start; on a reload the old configuration and libraries stay); unload() is then not
 * called, so load() frees what it made before failing. load_error(), when exported, is
 * asked right after a failed load(): a NUL-terminated text (or NULL) that the error shows.
 * A non-zero return from a callout is logged and its status kept, as Kea does. Kea 2.2 also
 * only logs a callout that throws; dhcplab's Rust helper sets DHCPLAB_NEXT_STEP_DROP for a
 * callout that panics, and a C callout that cannot do its work may do the same.
 *
 * Everything a callout is given lives only during the call. Calls come from one thread.
 */
#ifndef DHCPLAB_HOOK_H
#define DHCPLAB_HOOK_H

#include <stddef.h>
#include <stdint.h>

#define DHCPLAB_HOOK_ABI_VERSION 1

/* Next-step statuses, with Kea's numbers (CalloutHandle::CalloutNextStep). */
#define DHCPLAB_NEXT_STEP_CONTINUE 0
#define DHCPLAB_NEXT_STEP_SKIP 1
#define DHCPLAB_NEXT_STEP_PARK 2
#define DHCPLAB_NEXT_STEP_DROP 3

/* Bytes owned by the server. */
struct dhcplab_bytes {
    const uint8_t *data;
    size_t len;
};

/* One call of one library's callout. */
struct dhcplab_callout {
    /* DHCPLAB_HOOK_ABI_VERSION. */
    uint32_t abi_version;
    /* Position of the library in "hooks-libraries", from 0. */
    uint32_t library_index;
    /* The hook point's name, NUL-terminated ("pkt4_receive"). */
    const char *hook;
    /* The server's count of hook point calls, from 1: every library called for the same
     * hook point call sees the same number. */
    uint64_t sequence;
    /* What load() set in *instance, or NULL. */
    void *instance;
    /* The client's message (Kea's query4) as received, or empty. */
    struct dhcplab_bytes query;
    /* The server's answer (Kea's response4) as it stands, or empty. */
    struct dhcplab_bytes response;
    /* The hook point's other arguments as a JSON object, NUL-terminated, named as Kea names
     * them: "subnet4", "lease4", "leases4", "deleted_leases4", "fake_allocation",
     * "remove_lease", "clientid" and "hwaddr" (lease4_renew), "name", "arguments" and
     * "response" (command_processed), "json_config" (dhcp4_srv_configured); leases written
     * as Kea's lease4-get writes them. */
    const char *arguments;
    /* In: the status the callouts before left (CONTINUE for the first). Out: this one's. */
    int32_t next_step;
    /* For the functions below. */
    void *host;
    /* Sets the user context of the lease this call is about (lease4_select, lease4_renew)
     * to the JSON object `json`: it is stored with the lease. 0, or -1 when the call is
     * about no lease or `json` is not a JSON object. */
    int32_t (*set_lease_context)(void *host, const char *json);
};

#endif
