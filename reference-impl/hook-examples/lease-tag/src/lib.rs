//! A hook library that stores a configured tag in the user context of every lease it
//! selects or renews, to show that libraries can annotate leases (Kea's user-context).
//!
//! Parameters: `{"tag": ANY JSON}` (required). At `lease4_select` and `lease4_renew` it sets
//! the lease's context to `{"tag": <tag>}`.

use dhcplab_hook_sdk::{Call, Hook};
use serde_json::Value;

/// The context to set.
struct LeaseTag {
    context: Value,
}

impl Hook for LeaseTag {
    fn load(parameters: Value) -> Result<Self, String> {
        let tag = parameters
            .get("tag")
            .ok_or("parameter \"tag\" is required")?;
        Ok(LeaseTag {
            context: serde_json::json!({ "tag": tag }),
        })
    }

    fn callout(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        call.set_lease_context(&self.context)
    }
}

dhcplab_hook_sdk::export!(LeaseTag, [lease4_select, lease4_renew]);
