//! A hook library whose DHCPv4 callouts do nothing: the cost of calling hooks, measured by
//! the overhead benchmark.

use dhcplab_hook_sdk::{Call, Hook};

/// Nothing to keep.
struct Noop;

impl Hook for Noop {
    fn load(_: serde_json::Value) -> Result<Self, String> {
        Ok(Noop)
    }

    fn callout(&mut self, _: &mut Call<'_>) -> Result<(), String> {
        Ok(())
    }
}

dhcplab_hook_sdk::export!(Noop, all_v4);
