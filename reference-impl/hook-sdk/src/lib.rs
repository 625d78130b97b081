//! Write dhcplab hook libraries in Rust without writing `unsafe`.
//!
//! A library is a `cdylib` that exports the C ABI of `dhcplab_hook.h` (crate
//! `dhcplab-hook-abi`). This crate turns that into a [`Hook`] type: `load` builds it from the
//! library's JSON parameters, `callout` runs at each hook point it serves with a safe
//! [`Call`], and `unload` runs before it is dropped. [`export!`] generates the C entry points,
//! each inside [`std::panic::catch_unwind`], so that a panic never unwinds into the server: a
//! panicking callout sets DROP and returns 1 (the packet is dropped, as Kea drops a packet whose
//! processing throws; Kea 2.2's own callout manager only logs a callout's exception), a panicking
//! or failing `load` returns 1.
//!
//! ```
//! struct Hello;
//! impl dhcplab_hook_sdk::Hook for Hello {
//!     fn load(_: serde_json::Value) -> Result<Self, String> { Ok(Hello) }
//!     fn callout(&mut self, call: &mut dhcplab_hook_sdk::Call<'_>) -> Result<(), String> {
//!         eprintln!("{} #{}", call.hook(), call.sequence());
//!         Ok(())
//!     }
//! }
//! dhcplab_hook_sdk::export!(Hello, [pkt4_receive, lease4_select]);
//! ```

use std::ffi::{CStr, CString};

use dhcplab_hook_abi as abi;

/// Every hook point name the server calls (Kea's names, DHCPv4 first): the only names
/// [`export!`] accepts, so that a typo is a compile error instead of a silent no-op.
pub const HOOK_POINTS: [&str; 30] = {
    let all = dhcplab_hooks::HookPoint::ALL;
    let mut names = [""; 30];
    let mut i = 0;
    while i < names.len() {
        names[i] = all[i].name();
        i += 1;
    }
    names
};

/// The DHCPv4 hook point names, what `export!(Type, all_v4)` exports: for libraries that
/// want to see everything a DHCPv4 server does.
pub const HOOK_POINTS_V4: [&str; 15] = {
    let mut names = [""; 15];
    let mut i = 0;
    while i < names.len() {
        names[i] = HOOK_POINTS[i];
        i += 1;
    }
    names
};

/// A hook library's state: one value per configured instance of the library (the same file
/// listed twice gets two), created by `load` and dropped after `unload`.
pub trait Hook: Sized + 'static {
    /// Builds the instance from the library's `parameters` (a JSON object, empty when the
    /// configuration has none). An error refuses the configuration; its text goes to stderr.
    fn load(parameters: serde_json::Value) -> Result<Self, String>;

    /// Runs at every hook point the library exports. An error makes the callout return 1
    /// (the server logs it and keeps the next step as left); its text goes to stderr.
    fn callout(&mut self, call: &mut Call<'_>) -> Result<(), String>;

    /// Runs before the instance is dropped, when the server unloads the library.
    fn unload(&mut self) {}
}

/// What the server does next, as a callout decides (Kea's statuses, with the ABI's numbers).
pub use dhcplab_hooks::NextStep;

/// One call of a library's callout, with safe access to what the server passed.
#[derive(Debug)]
pub struct Call<'a> {
    raw: &'a mut abi::Callout,
}

impl<'a> Call<'a> {
    /// Wraps the server's callout struct.
    ///
    /// # Safety
    /// Every pointer in `raw` must be as `dhcplab_hook.h` promises for the duration of `'a`:
    /// `hook` and `arguments` null or NUL-terminated, `query` and `response` readable,
    /// `set_lease_context` callable with `host`.
    pub unsafe fn from_raw(raw: &'a mut abi::Callout) -> Self {
        Self { raw }
    }

    /// The hook point's name ("pkt4_receive"); empty if the server gave none.
    pub fn hook(&self) -> &str {
        if self.raw.hook.is_null() {
            return "";
        }
        // SAFETY: from_raw's contract: a non-null hook is NUL-terminated and lives for 'a.
        let name = unsafe { CStr::from_ptr(self.raw.hook) };
        name.to_str().unwrap_or("")
    }

    /// The server's count of hook point calls, from 1 (the same for every library of a call).
    pub fn sequence(&self) -> u64 {
        self.raw.sequence
    }

    /// The library's position in `hooks-libraries`, from 0.
    pub fn library_index(&self) -> u32 {
        self.raw.library_index
    }

    /// The client's message as received, or empty.
    pub fn query(&self) -> &[u8] {
        // SAFETY: from_raw's contract: query points at len readable bytes for 'a.
        unsafe { self.raw.query.as_slice() }
    }

    /// The server's answer as it stands, or empty.
    pub fn response(&self) -> &[u8] {
        // SAFETY: from_raw's contract: response points at len readable bytes for 'a.
        unsafe { self.raw.response.as_slice() }
    }

    /// The hook point's other arguments (a JSON object with Kea's names); `Null` when the
    /// server gave none or they are not JSON.
    pub fn arguments(&self) -> serde_json::Value {
        if self.raw.arguments.is_null() {
            return serde_json::Value::Null;
        }
        // SAFETY: from_raw's contract: a non-null arguments is NUL-terminated and lives for 'a.
        let text = unsafe { CStr::from_ptr(self.raw.arguments) };
        text.to_str()
            .ok()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(serde_json::Value::Null)
    }

    /// The status so far: what the callouts before left, or what this one set. An unknown
    /// number reads as DROP, as the server treats it.
    pub fn next_step(&self) -> NextStep {
        NextStep::from_code(self.raw.next_step).unwrap_or(NextStep::Drop)
    }

    /// Sets this callout's status.
    pub fn set_next_step(&mut self, step: NextStep) {
        self.raw.next_step = step.code();
    }

    /// Sets the user context of the lease this call is about (lease4_select, lease4_renew) to
    /// the JSON object `context`. Errors when `context` is not an object, or the server
    /// refuses (the call is about no lease) or offers no setter.
    pub fn set_lease_context(&mut self, context: &serde_json::Value) -> Result<(), String> {
        if !context.is_object() {
            return Err(format!(
                "a lease context must be a JSON object, not {context}"
            ));
        }
        let text = CString::new(context.to_string())
            .map_err(|_| "the lease context contains a NUL".to_string())?;
        let Some(set) = self.raw.set_lease_context else {
            return Err("the server offers no set_lease_context".to_string());
        };
        // SAFETY: from_raw's contract: set_lease_context is callable with host during 'a;
        // text is NUL-terminated and outlives the call.
        let code = unsafe { set(self.raw.host, text.as_ptr()) };
        if code == 0 {
            Ok(())
        } else {
            Err(format!(
                "the server refused the lease context at {} (code {code})",
                self.hook()
            ))
        }
    }
}

/// Generates the C entry points of a hook library whose state is the [`Hook`] type `$ty`:
/// `version`, `load`, `unload` and one callout per listed hook point, with exactly the hook
/// points' names (`export!(MyHook, [pkt4_receive, lease4_select])`), or every DHCPv4 hook
/// point (`export!(MyHook, all_v4)`). A name that is no hook point does not compile.
///
/// Invoke it once, at the top level of the library crate (the names `version`, `load`,
/// `unload` and the hook names are taken there).
#[macro_export]
macro_rules! export {
    ($ty:ty, all_v4) => {
        $crate::export!(
            $ty,
            [
                buffer4_receive,
                pkt4_receive,
                subnet4_select,
                host4_identifier,
                lease4_select,
                lease4_renew,
                lease4_release,
                lease4_decline,
                leases4_committed,
                pkt4_send,
                buffer4_send,
                lease4_expire,
                lease4_recover,
                command_processed,
                dhcp4_srv_configured
            ]
        );
    };
    ($ty:ty, [$($hook:ident),* $(,)?]) => {
        /// The ABI version of this library (`version()` of `dhcplab_hook.h`).
        #[unsafe(no_mangle)]
        pub extern "C" fn version() -> u32 {
            $crate::__private::ABI_VERSION
        }

        /// Why the last `load()` failed (`load_error()` of `dhcplab_hook.h`).
        #[unsafe(no_mangle)]
        pub extern "C" fn load_error() -> *const ::std::ffi::c_char {
            $crate::__private::load_error()
        }

        /// Creates an instance from JSON parameters (`load()` of `dhcplab_hook.h`).
        ///
        /// # Safety
        /// `parameters` is null or NUL-terminated; `instance` is null or writable.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn load(
            parameters: *const ::std::ffi::c_char,
            instance: *mut *mut ::std::ffi::c_void,
        ) -> i32 {
            // SAFETY: the caller keeps the contract above, which is load_instance's.
            unsafe { $crate::__private::load_instance::<$ty>(parameters, instance) }
        }

        /// Unloads and frees an instance (`unload()` of `dhcplab_hook.h`).
        ///
        /// # Safety
        /// `instance` is null or what `load` set, not used again afterwards.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn unload(instance: *mut ::std::ffi::c_void) -> i32 {
            // SAFETY: the caller keeps the contract above, which is unload_instance's.
            unsafe { $crate::__private::unload_instance::<$ty>(instance) }
        }

        $(
            const _: () = ::std::assert!(
                $crate::__private::is_hook_point(::std::stringify!($hook)),
                ::std::concat!("not a dhcplab hook point: ", ::std::stringify!($hook))
            );

            /// A callout (`<hook point>()` of `dhcplab_hook.h`).
            ///
            /// # Safety
            /// `call` is null or a callout struct as `dhcplab_hook.h` describes, whose
            /// `instance` is null or what this library's `load` set.
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $hook(call: *mut $crate::__private::Callout) -> i32 {
                // SAFETY: the caller keeps the contract above, which is run_callout's.
                unsafe { $crate::__private::run_callout::<$ty>(call) }
            }
        )*
    };
}

/// What [`export!`] expands to calls; not for direct use.
#[doc(hidden)]
pub mod __private {
    use std::ffi::{CStr, c_char, c_void};
    use std::panic::{AssertUnwindSafe, catch_unwind};

    pub use dhcplab_hook_abi::{ABI_VERSION, Callout};

    use super::{Call, HOOK_POINTS, Hook};
    use dhcplab_hook_abi::NEXT_STEP_DROP;

    /// True when `name` is a hook point name (usable in `const`).
    pub const fn is_hook_point(name: &str) -> bool {
        let mut i = 0;
        while i < HOOK_POINTS.len() {
            if bytes_eq(HOOK_POINTS[i].as_bytes(), name.as_bytes()) {
                return true;
            }
            i += 1;
        }
        false
    }

    const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }

    /// `load()`: parses the parameters, runs `H::load`, boxes the instance.
    ///
    /// # Safety
    /// `parameters` is null or NUL-terminated; `instance` is null or writable.
    pub unsafe fn load_instance<H: Hook>(
        parameters: *const c_char,
        instance: *mut *mut c_void,
    ) -> i32 {
        if instance.is_null() {
            return 1;
        }
        // SAFETY: instance is non-null and writable (contract above).
        unsafe { *instance = std::ptr::null_mut() };
        let built = catch_unwind(AssertUnwindSafe(|| {
            let params = if parameters.is_null() {
                serde_json::Value::Object(serde_json::Map::new())
            } else {
                // SAFETY: a non-null parameters is NUL-terminated (contract above).
                let text = unsafe { CStr::from_ptr(parameters) };
                match text.to_str().map(serde_json::from_str::<serde_json::Value>) {
                    Ok(Ok(v)) if v.is_null() => serde_json::Value::Object(serde_json::Map::new()),
                    Ok(Ok(v)) => v,
                    _ => return Err("the parameters are not JSON".to_string()),
                }
            };
            H::load(params).map(Box::new)
        }));
        match built {
            Ok(Ok(h)) => {
                set_load_error(None);
                // SAFETY: instance is non-null and writable (contract above).
                unsafe { *instance = Box::into_raw(h).cast::<c_void>() };
                0
            }
            Ok(Err(e)) => {
                set_load_error(Some(e));
                1
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                set_load_error(Some(format!("load() panicked: {what}")));
                1
            }
        }
    }

    /// Why the last `load()` failed, for `load_error()`.
    static LOAD_ERROR: std::sync::Mutex<Option<std::ffi::CString>> = std::sync::Mutex::new(None);

    fn set_load_error(why: Option<String>) {
        if let Ok(mut last) = LOAD_ERROR.lock() {
            *last = why.and_then(|w| std::ffi::CString::new(w.replace('\0', " ")).ok());
        }
    }

    /// `load_error()`: the text of the last failed `load()`, or null; valid until the next
    /// `load()`.
    pub fn load_error() -> *const c_char {
        LOAD_ERROR
            .lock()
            .ok()
            .and_then(|last| last.as_ref().map(|c| c.as_ptr()))
            .unwrap_or(std::ptr::null())
    }

    /// `unload()`: runs `H::unload` and frees the instance.
    ///
    /// # Safety
    /// `instance` is null or what `load_instance::<H>` set, and is not used afterwards.
    pub unsafe fn unload_instance<H: Hook>(instance: *mut c_void) -> i32 {
        if instance.is_null() {
            return 1;
        }
        // SAFETY: a non-null instance came from Box::into_raw in load_instance::<H> and is
        // given up by the caller (contract above).
        let mut hook = unsafe { Box::from_raw(instance.cast::<H>()) };
        match catch_unwind(AssertUnwindSafe(move || {
            hook.unload();
            drop(hook);
        })) {
            Ok(()) => 0,
            Err(_) => 1,
        }
    }

    /// A callout: runs `H::callout` on the instance; a panic sets DROP.
    ///
    /// # Safety
    /// `call` is null or a valid callout struct whose `instance` is null or what
    /// `load_instance::<H>` set.
    pub unsafe fn run_callout<H: Hook>(call: *mut Callout) -> i32 {
        if call.is_null() {
            return 1;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: call is non-null and valid, and nothing else uses it during the callout.
            let raw = unsafe { &mut *call };
            if raw.instance.is_null() {
                return 1;
            }
            // SAFETY: a non-null instance is the Box<H> load_instance made; calls come from
            // one thread, so this is the only reference.
            let hook = unsafe { &mut *raw.instance.cast::<H>() };
            // SAFETY: the server keeps the header's promises (contract above).
            let mut call = unsafe { Call::from_raw(raw) };
            match hook.callout(&mut call) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("dhcplab hook {}: {e}", call.hook());
                    1
                }
            }
        }));
        match outcome {
            Ok(code) => code,
            Err(_) => {
                // SAFETY: call is non-null and valid; the closure's borrow has ended.
                unsafe { (*call).next_step = NEXT_STEP_DROP };
                1
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::ffi::c_void;

    struct Fixture {
        hook: CString,
        args: CString,
        query: Vec<u8>,
        response: Vec<u8>,
        set: Option<String>,
    }

    unsafe extern "C" fn record(host: *mut c_void, json: *const std::ffi::c_char) -> i32 {
        // SAFETY: the tests pass a &mut Fixture as host and a NUL-terminated json.
        let (fixture, json) = unsafe { (&mut *host.cast::<Fixture>(), CStr::from_ptr(json)) };
        fixture.set = Some(json.to_str().unwrap().to_string());
        0
    }

    unsafe extern "C" fn refuse(_: *mut c_void, _: *const std::ffi::c_char) -> i32 {
        -1
    }

    fn fixture() -> Fixture {
        Fixture {
            hook: CString::new("lease4_select").unwrap(),
            args: CString::new(r#"{"fake_allocation":true}"#).unwrap(),
            query: vec![1, 2, 3],
            response: vec![4, 5],
            set: None,
        }
    }

    fn callout(f: &mut Fixture) -> abi::Callout {
        abi::Callout {
            abi_version: abi::ABI_VERSION,
            library_index: 3,
            hook: f.hook.as_ptr(),
            sequence: 42,
            instance: std::ptr::null_mut(),
            query: abi::Bytes::of(&f.query),
            response: abi::Bytes::of(&f.response),
            arguments: f.args.as_ptr(),
            next_step: abi::NEXT_STEP_SKIP,
            host: (f as *mut Fixture).cast(),
            set_lease_context: Some(record),
        }
    }

    #[test]
    fn call_reads_what_the_server_passed() {
        let mut f = fixture();
        let mut raw = callout(&mut f);
        // SAFETY: every pointer points into f, which outlives call.
        let call = unsafe { Call::from_raw(&mut raw) };
        assert_eq!(call.hook(), "lease4_select");
        assert_eq!(call.sequence(), 42);
        assert_eq!(call.library_index(), 3);
        assert_eq!(call.query(), &[1, 2, 3]);
        assert_eq!(call.response(), &[4, 5]);
        assert_eq!(
            call.arguments(),
            serde_json::json!({"fake_allocation": true})
        );
        assert_eq!(call.next_step(), NextStep::Skip);
    }

    #[test]
    fn absent_or_bad_fields_read_as_empty() {
        let mut f = fixture();
        let bad = CString::new("{not json").unwrap();
        let mut raw = callout(&mut f);
        raw.hook = std::ptr::null();
        raw.arguments = bad.as_ptr();
        raw.query = abi::Bytes {
            data: std::ptr::null(),
            len: 0,
        };
        raw.next_step = 17;
        // SAFETY: every pointer is null or points into f or bad, which outlive call.
        let call = unsafe { Call::from_raw(&mut raw) };
        assert_eq!(call.hook(), "");
        assert_eq!(call.arguments(), serde_json::Value::Null);
        assert!(call.query().is_empty());
        assert_eq!(call.next_step(), NextStep::Drop);
        raw.arguments = std::ptr::null();
        // SAFETY: as above.
        let call = unsafe { Call::from_raw(&mut raw) };
        assert_eq!(call.arguments(), serde_json::Value::Null);
    }

    #[test]
    fn set_next_step_writes_the_abi_number() {
        let mut f = fixture();
        let mut raw = callout(&mut f);
        for step in [
            NextStep::Continue,
            NextStep::Skip,
            NextStep::Drop,
            NextStep::Park,
        ] {
            // SAFETY: every pointer points into f, which outlives call.
            let mut call = unsafe { Call::from_raw(&mut raw) };
            call.set_next_step(step);
            assert_eq!(call.next_step(), step);
            assert_eq!(raw.next_step, step.code());
            assert_eq!(NextStep::from_code(step.code()), Some(step));
        }
        // The server's numbers are the header's.
        assert_eq!(NextStep::Continue.code(), abi::NEXT_STEP_CONTINUE);
        assert_eq!(NextStep::Skip.code(), abi::NEXT_STEP_SKIP);
        assert_eq!(NextStep::Drop.code(), abi::NEXT_STEP_DROP);
        assert_eq!(NextStep::Park.code(), abi::NEXT_STEP_PARK);
        assert_eq!(NextStep::from_name("PARK"), Some(NextStep::Park));
        assert_eq!(NextStep::from_name("stop"), None);
    }

    #[test]
    fn set_lease_context_passes_json_text_to_the_host() {
        let mut f = fixture();
        let mut raw = callout(&mut f);
        {
            // SAFETY: every pointer points into f, which outlives call.
            let mut call = unsafe { Call::from_raw(&mut raw) };
            call.set_lease_context(&serde_json::json!({"tag": [1, "x"]}))
                .unwrap();
            let err = call.set_lease_context(&serde_json::json!([1])).unwrap_err();
            assert!(err.contains("JSON object"), "{err}");
        }
        assert_eq!(f.set.as_deref(), Some(r#"{"tag":[1,"x"]}"#));
    }

    #[test]
    fn a_refused_or_missing_setter_is_an_error() {
        let mut f = fixture();
        let mut raw = callout(&mut f);
        raw.set_lease_context = Some(refuse);
        // SAFETY: every pointer points into f, which outlives call.
        let mut call = unsafe { Call::from_raw(&mut raw) };
        let err = call.set_lease_context(&serde_json::json!({})).unwrap_err();
        assert!(
            err.contains("refused") && err.contains("lease4_select"),
            "{err}"
        );
        raw.set_lease_context = None;
        // SAFETY: as above.
        let mut call = unsafe { Call::from_raw(&mut raw) };
        assert!(call.set_lease_context(&serde_json::json!({})).is_err());
    }

    #[test]
    fn hook_point_names_are_checked_in_const() {
        assert!(__private::is_hook_point("pkt4_receive"));
        assert!(__private::is_hook_point("dhcp6_srv_configured"));
        assert!(!__private::is_hook_point("pkt4_recieve"));
        assert!(!__private::is_hook_point(""));
        for name in HOOK_POINTS_V4 {
            assert!(__private::is_hook_point(name));
        }
    }

    #[test]
    fn the_v4_names_end_where_the_v6_ones_begin() {
        assert_eq!(HOOK_POINTS_V4[14], "dhcp4_srv_configured");
        assert_eq!(HOOK_POINTS[15], "buffer6_receive");
    }
}
