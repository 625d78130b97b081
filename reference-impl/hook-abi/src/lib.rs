//! The C ABI between the reference server and its hook libraries, in Rust: the twin of
//! `include/dhcplab_hook.h`, which is the contract (read it first). The server's loader and
//! the helper crate for writing libraries in Rust both use these types, so the two sides
//! cannot drift apart; a test holds them to the header.

use std::ffi::{c_char, c_void};

/// The ABI version a library's `version()` returns.
pub const ABI_VERSION: u32 = 1;

/// Next-step status CONTINUE (Kea's number).
pub const NEXT_STEP_CONTINUE: i32 = 0;
/// Next-step status SKIP (Kea's number).
pub const NEXT_STEP_SKIP: i32 = 1;
/// Next-step status DROP (Kea's number).
pub const NEXT_STEP_DROP: i32 = 3;
/// Next-step status PARK (Kea's number).
pub const NEXT_STEP_PARK: i32 = 2;

/// The C header, for those who write libraries in C.
pub const HEADER: &str = include_str!("../include/dhcplab_hook.h");

/// Bytes owned by the server (`struct dhcplab_bytes`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Bytes {
    /// First byte; may be null when `len` is 0.
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl Bytes {
    /// Bytes that borrow `b` (valid while `b` lives).
    pub fn of(b: &[u8]) -> Self {
        Self {
            data: b.as_ptr(),
            len: b.len(),
        }
    }

    /// The bytes, or nothing.
    ///
    /// # Safety
    /// `data` must point at `len` readable bytes that outlive the result, or `len` be 0.
    pub unsafe fn as_slice<'a>(&self) -> &'a [u8] {
        if self.data.is_null() || self.len == 0 {
            &[]
        } else {
            // SAFETY: the caller vouches for data and len.
            unsafe { std::slice::from_raw_parts(self.data, self.len) }
        }
    }
}

/// The library's setter of the lease's user context (`set_lease_context`).
pub type SetLeaseContext = unsafe extern "C" fn(host: *mut c_void, json: *const c_char) -> i32;

/// One call of one library's callout (`struct dhcplab_callout`).
#[repr(C)]
#[derive(Debug)]
pub struct Callout {
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// Position of the library in `hooks-libraries`, from 0.
    pub library_index: u32,
    /// The hook point's name, NUL-terminated.
    pub hook: *const c_char,
    /// The server's count of hook point calls, from 1.
    pub sequence: u64,
    /// What `load()` set, or null.
    pub instance: *mut c_void,
    /// The client's message, or empty.
    pub query: Bytes,
    /// The server's answer as it stands, or empty.
    pub response: Bytes,
    /// The other arguments, a NUL-terminated JSON object.
    pub arguments: *const c_char,
    /// In: the status so far. Out: this callout's.
    pub next_step: i32,
    /// For `set_lease_context`.
    pub host: *mut c_void,
    /// Sets the user context of the lease the call is about.
    pub set_lease_context: Option<SetLeaseContext>,
}

/// `version()`.
pub type VersionFn = unsafe extern "C" fn() -> u32;
/// `load(parameters, instance)`.
pub type LoadFn =
    unsafe extern "C" fn(parameters: *const c_char, instance: *mut *mut c_void) -> i32;
/// `load_error()`.
pub type LoadErrorFn = unsafe extern "C" fn() -> *const c_char;
/// `unload(instance)`.
pub type UnloadFn = unsafe extern "C" fn(instance: *mut c_void) -> i32;
/// A callout.
pub type CalloutFn = unsafe extern "C" fn(call: *mut Callout) -> i32;

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of `#define NAME value` in the header.
    fn define(name: &str) -> i64 {
        let line = HEADER
            .lines()
            .find(|l| l.starts_with(&format!("#define {name} ")))
            .unwrap_or_else(|| panic!("no #define {name}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn the_constants_are_the_headers() {
        assert_eq!(define("DHCPLAB_HOOK_ABI_VERSION"), i64::from(ABI_VERSION));
        assert_eq!(
            define("DHCPLAB_NEXT_STEP_CONTINUE"),
            i64::from(NEXT_STEP_CONTINUE)
        );
        assert_eq!(define("DHCPLAB_NEXT_STEP_SKIP"), i64::from(NEXT_STEP_SKIP));
        assert_eq!(define("DHCPLAB_NEXT_STEP_DROP"), i64::from(NEXT_STEP_DROP));
        assert_eq!(define("DHCPLAB_NEXT_STEP_PARK"), i64::from(NEXT_STEP_PARK));
    }

    #[test]
    fn the_callout_struct_has_the_headers_fields_in_order() {
        let body = HEADER
            .split("struct dhcplab_callout {")
            .nth(1)
            .and_then(|s| s.split("};").next())
            .unwrap();
        let fields: Vec<&str> = body
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("/*") && !l.starts_with('*') && l.ends_with(';'))
            .map(|l| {
                let l = l.trim_end_matches(';');
                // "int32_t (*set_lease_context)(void *host, ...)" names its field in brackets.
                match l.split_once("(*") {
                    Some((_, rest)) => rest.split(')').next().unwrap(),
                    None => l.rsplit([' ', '*']).next().unwrap(),
                }
            })
            .collect();
        assert_eq!(
            fields,
            [
                "abi_version",
                "library_index",
                "hook",
                "sequence",
                "instance",
                "query",
                "response",
                "arguments",
                "next_step",
                "host",
                "set_lease_context"
            ]
        );
        // On x86-64: 4 + 4 + 8 + 8 + 8 + 16 + 16 + 8 + 4 (+4 padding) + 8 + 8.
        #[cfg(target_pointer_width = "64")]
        assert_eq!(std::mem::size_of::<Callout>(), 96);
    }
}
