/* A hook library written in C against dhcplab_hook.h, for the loader's tests: DROP at
 * pkt4_receive when its parameters say "drop", and a user context on the lease at
 * lease4_select. */
#include "dhcplab_hook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct state {
    int drop;
};

uint32_t version(void) { return DHCPLAB_HOOK_ABI_VERSION; }

int32_t load(const char *parameters, void **instance) {
    struct state *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return 1;
    }
    s->drop = strstr(parameters, "\"drop\"") != NULL;
    *instance = s;
    return 0;
}

int32_t unload(void *instance) {
    free(instance);
    return 0;
}

int32_t pkt4_receive(struct dhcplab_callout *call) {
    const struct state *s = call->instance;
    if (call->abi_version != DHCPLAB_HOOK_ABI_VERSION || strcmp(call->hook, "pkt4_receive") != 0) {
        return 1;
    }
    if (call->query.len < 240) {
        return 2;
    }
    if (s->drop) {
        call->next_step = DHCPLAB_NEXT_STEP_DROP;
    }
    return 0;
}

int32_t lease4_select(struct dhcplab_callout *call) {
    char context[64];
    snprintf(context, sizeof context, "{\"from\": \"c\", \"sequence\": %llu}",
             (unsigned long long)call->sequence);
    return call->set_lease_context(call->host, context) == 0 ? 0 : 3;
}
