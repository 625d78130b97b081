//! Native hook libraries: shared objects that export the C ABI of `dhcplab_hook.h` (crate
//! `dhcplab-hook-abi`), loaded with `libloading` and offered to the server as
//! [`dhcplab_hooks::Library`] values.
//!
//! [`NativeLibrary::load`] opens the file, checks `version()`, runs the optional `load()` with
//! the library's parameters and looks up a callout for every hook point; calls then go
//! straight to those functions, and dropping the value runs `unload()` and closes the file.
//! The same file loaded twice is opened once by the system but gets two instances, as the
//! header promises.

mod loader;

pub use loader::{CheckingLoader, NativeLoader, Scripts};

use std::ffi::{CStr, CString, c_char, c_void};
use std::fmt;
use std::path::{Path, PathBuf};

use dhcplab_hook_abi::{self as abi, CalloutFn, LoadErrorFn, LoadFn, UnloadFn, VersionFn};
use dhcplab_hooks::{Call, HookPoint, Library, NextStep};

/// Why a hook library could not be loaded; every variant names the file, so that the
/// configuration error it becomes says which library is at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// There is no file at the path.
    #[error("hook library {}: no such file", path.display())]
    Missing {
        /// The library's path as configured.
        path: PathBuf,
    },
    /// The system could not load the file as a shared object.
    #[error("hook library {}: not a loadable shared object: {message}", path.display())]
    NotALibrary {
        /// The library's path as configured.
        path: PathBuf,
        /// What the dynamic loader said (dlopen's message).
        message: String,
    },
    /// The library exports no `version()`, so it is no dhcplab hook library.
    #[error(
        "hook library {}: exports no version() function, so it is not a dhcplab hook library",
        path.display()
    )]
    NoVersion {
        /// The library's path as configured.
        path: PathBuf,
    },
    /// `version()` returned another ABI version than this server's.
    #[error("hook library {}: {}", path.display(), wrong_version_message(*found))]
    WrongVersion {
        /// The library's path as configured.
        path: PathBuf,
        /// What `version()` returned.
        found: u32,
    },
    /// The parameters could not be passed as C text.
    #[error("hook library {}: its parameters cannot be passed: {message}", path.display())]
    Parameters {
        /// The library's path as configured.
        path: PathBuf,
        /// What is wrong with them.
        message: String,
    },
    /// `load()` returned non-zero: the library refused its configuration.
    #[error("hook library {}: load() failed with code {code}{}", path.display(), why.as_deref().map(|w| format!(": {w}")).unwrap_or_default())]
    LoadFailed {
        /// The library's path as configured.
        path: PathBuf,
        /// What `load()` returned.
        code: i32,
        /// What the library's `load_error()` said, if it has one.
        why: Option<String>,
    },
}

/// What to say when `version()` returned `found` instead of [`abi::ABI_VERSION`]. Kea's
/// libraries also export `version()`, returning Kea's hooks version (five digits, such as
/// 20603): such a number gets the explanation that only Kea can load that library.
pub fn wrong_version_message(found: u32) -> String {
    let mut message = format!(
        "version() returned {found}, but this server speaks dhcplab hook ABI version {}",
        abi::ABI_VERSION
    );
    if found >= 10000 {
        message.push_str(
            "; this looks like a Kea hook library, built for Kea's C++ hooks API, which only \
             Kea can load",
        );
    }
    message
}

/// The library's instance (what `load()` set), a raw pointer handed back to the library.
struct Instance(*mut c_void);

// SAFETY: the pointer is only ever passed back to the library that made it, never
// dereferenced here, and the server calls a library from one thread at a time (the Library
// trait's `&mut self` ensures it), which is what the header promises libraries.
unsafe impl Send for Instance {}

/// A callout the library exports, with its hook point's name as C text (made once).
struct Callout {
    function: CalloutFn,
    hook: CString,
}

/// What `set_lease_context` writes to during one call.
struct Host {
    /// Whether the call is about a lease whose context can be set.
    accepts_lease_context: bool,
    /// The context the library set last (JSON object text).
    lease_context: Option<String>,
}

/// The hook points whose calls are about a lease, where `set_lease_context` works.
const LEASE_POINTS: [HookPoint; 5] = [
    HookPoint::Lease4Select,
    HookPoint::Lease4Renew,
    HookPoint::Lease6Select,
    HookPoint::Lease6Renew,
    HookPoint::Lease6Rebind,
];

/// The server's `set_lease_context`: keeps `json` if it is a JSON object and the call is
/// about a lease; 0, or -1 when not.
///
/// # Safety
/// `host` is null or the [`Host`] of the call in progress; `json` is null or NUL-terminated.
unsafe extern "C" fn set_lease_context(host: *mut c_void, json: *const c_char) -> i32 {
    if host.is_null() || json.is_null() {
        return -1;
    }
    // SAFETY: a non-null host is the Host that NativeLibrary::call put in the Callout; it
    // lives until the callout returns and nothing else touches it meanwhile.
    let host = unsafe { &mut *host.cast::<Host>() };
    if !host.accepts_lease_context {
        return -1;
    }
    // SAFETY: a non-null json is NUL-terminated (contract above).
    let text = unsafe { CStr::from_ptr(json) };
    match text.to_str().map(serde_json::from_str::<serde_json::Value>) {
        Ok(Ok(value)) if value.is_object() => {
            host.lease_context = Some(value.to_string());
            0
        }
        _ => -1,
    }
}

/// A loaded native hook library with its instance.
pub struct NativeLibrary {
    name: String,
    index: u32,
    instance: Instance,
    unload: Option<UnloadFn>,
    /// By [`HookPoint::index`].
    callouts: [Option<Callout>; HookPoint::ALL.len()],
    /// Kept open while the function pointers above are in use; closed after `unload()`.
    _library: libloading::Library,
}

impl fmt::Debug for NativeLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeLibrary")
            .field("name", &self.name)
            .field("index", &self.index)
            .field(
                "callouts",
                &HookPoint::ALL
                    .iter()
                    .filter(|p| self.callouts[p.index()].is_some())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Opens the library at `path` and checks its `version()`, as Kea validates a library
/// before it loads it.
fn open(path: &Path) -> Result<libloading::Library, LoadError> {
    let owned = || path.to_path_buf();
    if matches!(std::fs::metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound) {
        return Err(LoadError::Missing { path: owned() });
    }
    // A bare file name would make dlopen search the system's directories; the
    // configuration means the file here.
    let open_path = if path.is_relative() && path.components().count() == 1 {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    };
    // SAFETY: opening runs the library's initialisers. A configured hook library is
    // trusted code (as Kea trusts its libraries); nothing else makes this sound.
    let library = unsafe { libloading::Library::new(&open_path) }.map_err(|e| {
        // libloading says "dlopen failed" and keeps the system's reason as the source.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        LoadError::NotALibrary {
            path: owned(),
            message,
        }
    })?;

    // SAFETY: `version` has the type the header declares for it.
    let version = unsafe { library.get::<VersionFn>("version") }
        .map(|s| *s)
        .map_err(|_| LoadError::NoVersion { path: owned() })?;
    // SAFETY: version() takes nothing and, per the header, only returns a number.
    let found = unsafe { version() };
    if found != abi::ABI_VERSION {
        return Err(LoadError::WrongVersion {
            path: owned(),
            found,
        });
    }
    Ok(library)
}

impl NativeLibrary {
    /// Checks that `path` is a hook library of this ABI (it opens and its `version()` is
    /// right) without running its `load()`: what `dhcplab server -t` checks, as Kea validates
    /// its libraries when it tests a configuration.
    pub fn check(path: &Path) -> Result<(), LoadError> {
        open(path).map(drop)
    }

    /// Loads the library at `path`, which is entry `index` of `hooks-libraries`, and runs its
    /// `load()` with `parameters` (JSON null passes `{}`).
    ///
    /// Loading runs the library's initialisers and `load()`: the library is trusted code, as
    /// in Kea.
    pub fn load(
        path: &Path,
        index: u32,
        parameters: &serde_json::Value,
    ) -> Result<NativeLibrary, LoadError> {
        let owned = || path.to_path_buf();
        let library = open(path)?;

        // SAFETY (the three lookups below): the header declares these types for these names,
        // and version() confirmed the library follows the header.
        let load = unsafe { library.get::<LoadFn>("load") }.ok().map(|s| *s);
        // SAFETY: as above.
        let unload = unsafe { library.get::<UnloadFn>("unload") }
            .ok()
            .map(|s| *s);
        let mut callouts: [Option<Callout>; HookPoint::ALL.len()] = Default::default();
        for point in HookPoint::ALL {
            // SAFETY: as above.
            if let Ok(symbol) = unsafe { library.get::<CalloutFn>(point.name()) } {
                let hook = CString::new(point.name()).map_err(|e| LoadError::Parameters {
                    path: owned(),
                    message: e.to_string(),
                })?;
                callouts[point.index()] = Some(Callout {
                    function: *symbol,
                    hook,
                });
            }
        }

        let mut instance: *mut c_void = std::ptr::null_mut();
        if let Some(load) = load {
            let text = if parameters.is_null() {
                "{}".to_string()
            } else {
                parameters.to_string()
            };
            let text = CString::new(text).map_err(|e| LoadError::Parameters {
                path: owned(),
                message: e.to_string(),
            })?;
            // SAFETY: text is NUL-terminated and instance writable, both outliving the call,
            // as the header asks of load().
            let code = unsafe { load(text.as_ptr(), &mut instance) };
            if code != 0 {
                // SAFETY: `load_error` has the type the header declares for it.
                let load_error = unsafe { library.get::<LoadErrorFn>("load_error") }
                    .ok()
                    .map(|f| *f);
                let why = load_error.and_then(|f| {
                    // SAFETY: asked right after load(), as the header says; it takes nothing.
                    let text = unsafe { f() };
                    // SAFETY: a non-null text is NUL-terminated and valid until the next
                    // load() (the header); it is copied at once.
                    (!text.is_null()).then(|| {
                        unsafe { CStr::from_ptr(text) }
                            .to_string_lossy()
                            .into_owned()
                    })
                });
                return Err(LoadError::LoadFailed {
                    path: owned(),
                    code,
                    why,
                });
            }
        }
        tracing::debug!(
            library = %path.display(),
            index,
            callouts = callouts.iter().flatten().count(),
            "hook library loaded"
        );
        Ok(NativeLibrary {
            name: path.to_string_lossy().into_owned(),
            index,
            instance: Instance(instance),
            unload,
            callouts,
            _library: library,
        })
    }
}

impl Library for NativeLibrary {
    fn name(&self) -> &str {
        &self.name
    }

    fn implements(&self, point: HookPoint) -> bool {
        self.callouts[point.index()].is_some()
    }

    /// Runs the callout for `call.point`; a library without one leaves the call as it is.
    fn call(&mut self, call: &mut Call<'_>) -> Result<(), String> {
        let Some(callout) = &self.callouts[call.point.index()] else {
            return Ok(());
        };
        let arguments = if call.arguments.is_empty() {
            c"{}"
        } else {
            call.arguments
        };
        let mut host = Host {
            accepts_lease_context: LEASE_POINTS.contains(&call.point),
            lease_context: None,
        };
        let mut raw = abi::Callout {
            abi_version: abi::ABI_VERSION,
            library_index: self.index,
            hook: callout.hook.as_ptr(),
            sequence: call.sequence,
            instance: self.instance.0,
            query: abi::Bytes::of(call.query),
            response: abi::Bytes::of(call.response),
            arguments: arguments.as_ptr(),
            next_step: call.next_step.code(),
            host: (&raw mut host).cast::<c_void>(),
            set_lease_context: Some(set_lease_context),
        };
        // SAFETY: the function has the header's callout type (version() checked the
        // library follows it), and every pointer in raw (hook name, query, response,
        // arguments, host) points at data that outlives this call.
        let code = unsafe { (callout.function)(&mut raw) };

        if let Some(context) = host.lease_context {
            call.lease_context = Some(context);
        }
        let mut problems = Vec::new();
        if code != 0 {
            problems.push(format!("callout returned {code}"));
        }
        match NextStep::from_code(raw.next_step) {
            Some(step) => call.next_step = step,
            None => {
                call.next_step = NextStep::Drop;
                problems.push(format!(
                    "callout set the unknown next step {}, taken as DROP",
                    raw.next_step
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

impl Drop for NativeLibrary {
    fn drop(&mut self) {
        if let Some(unload) = self.unload {
            // SAFETY: unload has the header's type and gets back what load() set; it runs
            // once, before the library is closed (fields drop after this).
            let code = unsafe { unload(self.instance.0) };
            if code != 0 {
                tracing::warn!(library = %self.name, code, "hook library unload() failed");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_version_message_explains_kea_libraries() {
        let m = wrong_version_message(2);
        assert!(m.contains("returned 2") && m.contains("version 1"), "{m}");
        assert!(!m.contains("Kea"), "{m}");
        let m = wrong_version_message(20603);
        assert!(m.contains("returned 20603"), "{m}");
        assert!(
            m.contains("Kea hook library") && m.contains("only Kea can load"),
            "{m}"
        );
        let e = LoadError::WrongVersion {
            path: "/x/libdhcp_lease_cmds.so".into(),
            found: 20603,
        };
        let e = e.to_string();
        assert!(
            e.starts_with("hook library /x/libdhcp_lease_cmds.so: version() returned 20603"),
            "{e}"
        );
    }

    fn set(host: &mut Host, json: &CStr) -> i32 {
        // SAFETY: host is a live Host and json NUL-terminated.
        unsafe { set_lease_context((host as *mut Host).cast(), json.as_ptr()) }
    }

    #[test]
    fn set_lease_context_keeps_objects_at_lease_points() {
        let mut host = Host {
            accepts_lease_context: true,
            lease_context: None,
        };
        assert_eq!(set(&mut host, c"{ \"tag\" : [1, 2] }"), 0);
        assert_eq!(host.lease_context.as_deref(), Some(r#"{"tag":[1,2]}"#));
        for bad in [c"[1]", c"\"x\"", c"{nope", c""] {
            assert_eq!(set(&mut host, bad), -1, "{bad:?}");
        }
        assert_eq!(host.lease_context.as_deref(), Some(r#"{"tag":[1,2]}"#));
        // SAFETY: null pointers are allowed.
        assert_eq!(
            unsafe { set_lease_context(std::ptr::null_mut(), c"{}".as_ptr()) },
            -1
        );
    }

    #[test]
    fn set_lease_context_is_refused_where_there_is_no_lease() {
        let mut host = Host {
            accepts_lease_context: LEASE_POINTS.contains(&HookPoint::Pkt4Receive),
            lease_context: None,
        };
        assert_eq!(set(&mut host, c"{}"), -1);
        assert_eq!(host.lease_context, None);
        for p in [
            "lease4_select",
            "lease4_renew",
            "lease6_select",
            "lease6_renew",
            "lease6_rebind",
        ] {
            assert!(LEASE_POINTS.iter().any(|l| l.name() == p), "{p}");
        }
    }

    #[test]
    fn native_libraries_are_send() {
        fn send<T: Send>() {}
        send::<NativeLibrary>();
    }
}
