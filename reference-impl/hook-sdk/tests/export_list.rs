//! `export!(Type, [names])` exports exactly the listed callouts.

#![allow(clippy::unwrap_used)]

use std::ffi::c_void;

use dhcplab_hook_abi::{self as abi, Callout};
use dhcplab_hook_sdk::{Call, Hook, NextStep};

struct Dropper;

impl Hook for Dropper {
    fn load(_: serde_json::Value) -> Result<Self, String> {
        Ok(Dropper)
    }

    fn callout(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        call.set_next_step(NextStep::Drop);
        Ok(())
    }
}

dhcplab_hook_sdk::export!(Dropper, [pkt4_receive, lease6_select,]);

#[test]
fn the_listed_callouts_run() {
    let mut inst: *mut c_void = std::ptr::null_mut();
    // SAFETY: null parameters are allowed and inst is writable.
    assert_eq!(unsafe { load(std::ptr::null(), &mut inst) }, 0);
    for f in [
        pkt4_receive as unsafe extern "C" fn(*mut Callout) -> i32,
        lease6_select,
    ] {
        let mut raw = Callout {
            abi_version: abi::ABI_VERSION,
            library_index: 0,
            hook: c"pkt4_receive".as_ptr(),
            sequence: 1,
            instance: inst,
            query: abi::Bytes::of(&[]),
            response: abi::Bytes::of(&[]),
            arguments: c"{}".as_ptr(),
            next_step: abi::NEXT_STEP_CONTINUE,
            host: std::ptr::null_mut(),
            set_lease_context: None,
        };
        // SAFETY: raw is valid and its pointers are static.
        assert_eq!(unsafe { f(&mut raw) }, 0);
        assert_eq!(raw.next_step, abi::NEXT_STEP_DROP);
    }
    // SAFETY: inst came from load.
    assert_eq!(unsafe { unload(inst) }, 0);
}
