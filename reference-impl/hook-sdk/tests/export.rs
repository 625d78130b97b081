//! The entry points `export!(Probe, all_v4)` generates, called as the server would call them:
//! instances, dispatch, and panic containment.

#![allow(clippy::unwrap_used)]

use std::ffi::{CString, c_char, c_void};

use dhcplab_hook_abi::{self as abi, Callout};
use dhcplab_hook_sdk::{Call, Hook, NextStep};

/// A hook that does what its parameters and the call's arguments say.
struct Probe {
    name: String,
    calls: u64,
}

impl Hook for Probe {
    fn load(parameters: serde_json::Value) -> Result<Self, String> {
        if parameters.get("panic").is_some() {
            panic!("asked to panic in load");
        }
        if parameters.get("fail").is_some() {
            return Err("asked to fail".into());
        }
        Ok(Probe {
            name: parameters["name"].as_str().unwrap_or("probe").to_string(),
            calls: 0,
        })
    }

    fn callout(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        self.calls += 1;
        let args = call.arguments();
        if args.get("panic").is_some() {
            panic!("asked to panic in {}", call.hook());
        }
        if args.get("fail").is_some() {
            return Err("asked to fail".into());
        }
        if args.get("skip").is_some() {
            call.set_next_step(NextStep::Skip);
        }
        // Report who ran, and how often, through the lease context.
        let report =
            serde_json::json!({"name": self.name, "calls": self.calls, "hook": call.hook()});
        call.set_lease_context(&report)
    }
}

dhcplab_hook_sdk::export!(Probe, all_v4);

fn load_with(params: &str) -> (i32, *mut c_void) {
    let params = CString::new(params).unwrap();
    // A non-null sentinel, to see that load() always writes *instance.
    let mut instance: *mut c_void = std::ptr::dangling_mut::<c_void>();
    // SAFETY: params is NUL-terminated and instance writable.
    let code = unsafe { load(params.as_ptr(), &mut instance) };
    (code, instance)
}

unsafe extern "C" fn keep(host: *mut c_void, json: *const c_char) -> i32 {
    // SAFETY: the tests pass a &mut Option<String> as host and NUL-terminated json.
    let (slot, json) = unsafe {
        (
            &mut *host.cast::<Option<String>>(),
            std::ffi::CStr::from_ptr(json),
        )
    };
    *slot = Some(json.to_str().unwrap().to_string());
    0
}

/// Calls `f` (a generated callout) as the server would; returns (code, next_step, context).
fn call(
    f: unsafe extern "C" fn(*mut Callout) -> i32,
    hook: &str,
    instance: *mut c_void,
    arguments: &str,
) -> (i32, i32, Option<String>) {
    let hook = CString::new(hook).unwrap();
    let arguments = CString::new(arguments).unwrap();
    let mut context: Option<String> = None;
    let mut raw = Callout {
        abi_version: abi::ABI_VERSION,
        library_index: 0,
        hook: hook.as_ptr(),
        sequence: 1,
        instance,
        query: abi::Bytes::of(&[]),
        response: abi::Bytes::of(&[]),
        arguments: arguments.as_ptr(),
        next_step: abi::NEXT_STEP_CONTINUE,
        host: (&mut context as *mut Option<String>).cast(),
        set_lease_context: Some(keep),
    };
    // SAFETY: raw is a valid callout whose pointers outlive the call.
    let code = unsafe { f(&mut raw) };
    (code, raw.next_step, context)
}

fn unload_ok(instance: *mut c_void) {
    // SAFETY: instance came from load and is not used afterwards.
    assert_eq!(unsafe { unload(instance) }, 0);
}

#[test]
fn version_is_the_abis() {
    assert_eq!(version(), abi::ABI_VERSION);
}

#[test]
fn load_makes_separate_instances_and_callouts_dispatch_to_them() {
    let (code_a, a) = load_with(r#"{"name":"a"}"#);
    let (code_b, b) = load_with(r#"{"name":"b"}"#);
    assert_eq!((code_a, code_b), (0, 0));
    assert!(!a.is_null() && !b.is_null() && a != b);

    let (code, step, ctx) = call(pkt4_receive, "pkt4_receive", a, "{}");
    assert_eq!((code, step), (0, abi::NEXT_STEP_CONTINUE));
    let ctx: serde_json::Value = serde_json::from_str(&ctx.unwrap()).unwrap();
    assert_eq!(
        ctx,
        serde_json::json!({"name": "a", "calls": 1, "hook": "pkt4_receive"})
    );

    call(pkt4_receive, "pkt4_receive", a, "{}");
    let (_, _, ctx) = call(lease4_select, "lease4_select", b, r#"{"skip":1}"#);
    let ctx: serde_json::Value = serde_json::from_str(&ctx.unwrap()).unwrap();
    assert_eq!(
        ctx,
        serde_json::json!({"name": "b", "calls": 1, "hook": "lease4_select"})
    );
    let (_, step, ctx) = call(lease4_select, "lease4_select", a, r#"{"skip":1}"#);
    assert_eq!(step, abi::NEXT_STEP_SKIP);
    assert!(ctx.unwrap().contains(r#""calls":3"#));

    unload_ok(a);
    unload_ok(b);
}

#[test]
fn every_v4_hook_point_is_exported() {
    let (_, inst) = load_with("{}");
    let fns: [(&str, unsafe extern "C" fn(*mut Callout) -> i32); 15] = [
        ("buffer4_receive", buffer4_receive),
        ("pkt4_receive", pkt4_receive),
        ("subnet4_select", subnet4_select),
        ("host4_identifier", host4_identifier),
        ("lease4_select", lease4_select),
        ("lease4_renew", lease4_renew),
        ("lease4_release", lease4_release),
        ("lease4_decline", lease4_decline),
        ("leases4_committed", leases4_committed),
        ("pkt4_send", pkt4_send),
        ("buffer4_send", buffer4_send),
        ("lease4_expire", lease4_expire),
        ("lease4_recover", lease4_recover),
        ("command_processed", command_processed),
        ("dhcp4_srv_configured", dhcp4_srv_configured),
    ];
    for (i, (name, f)) in fns.into_iter().enumerate() {
        assert_eq!(name, dhcplab_hook_sdk::HOOK_POINTS_V4[i]);
        let (code, _, ctx) = call(f, name, inst, "{}");
        assert_eq!(code, 0);
        assert!(ctx.unwrap().contains(&format!(r#""calls":{}"#, i + 1)));
    }
    unload_ok(inst);
}

#[test]
fn a_panicking_callout_drops_and_returns_1_and_the_instance_lives_on() {
    let (_, inst) = load_with("{}");
    let (code, step, ctx) = call(pkt4_receive, "pkt4_receive", inst, r#"{"panic":true}"#);
    assert_eq!((code, step, ctx), (1, abi::NEXT_STEP_DROP, None));
    let (code, step, ctx) = call(pkt4_receive, "pkt4_receive", inst, "{}");
    assert_eq!((code, step), (0, abi::NEXT_STEP_CONTINUE));
    assert!(ctx.unwrap().contains(r#""calls":2"#));
    unload_ok(inst);
}

#[test]
fn a_failing_callout_returns_1_and_keeps_the_status() {
    let (_, inst) = load_with("{}");
    let (code, step, _) = call(pkt4_send, "pkt4_send", inst, r#"{"fail":true}"#);
    assert_eq!((code, step), (1, abi::NEXT_STEP_CONTINUE));
    unload_ok(inst);
}

#[test]
fn a_callout_without_instance_or_call_returns_1() {
    let (code, step, _) = call(pkt4_receive, "pkt4_receive", std::ptr::null_mut(), "{}");
    assert_eq!((code, step), (1, abi::NEXT_STEP_CONTINUE));
    // SAFETY: a null call is allowed.
    assert_eq!(unsafe { pkt4_receive(std::ptr::null_mut()) }, 1);
    // SAFETY: a null instance is allowed.
    assert_eq!(unsafe { unload(std::ptr::null_mut()) }, 1);
}

#[test]
fn a_panicking_failing_or_misfed_load_returns_1_with_a_null_instance() {
    for params in [r#"{"panic":true}"#, r#"{"fail":true}"#, "not json"] {
        let (code, inst) = load_with(params);
        assert_eq!(code, 1, "{params}");
        assert!(inst.is_null(), "{params}");
    }
    // SAFETY: a null instance pointer is allowed.
    assert_eq!(unsafe { load(std::ptr::null(), std::ptr::null_mut()) }, 1);
}

#[test]
fn null_parameters_and_json_null_load_as_an_empty_object() {
    let mut inst: *mut c_void = std::ptr::null_mut();
    // SAFETY: null parameters are allowed and inst is writable.
    assert_eq!(unsafe { load(std::ptr::null(), &mut inst) }, 0);
    unload_ok(inst);
    let (code, inst) = load_with("null");
    assert_eq!(code, 0);
    unload_ok(inst);
}
