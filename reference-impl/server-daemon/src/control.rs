//! Kea's control channel: a unix socket (mode 0600) that takes one JSON command per
//! connection and answers it, then closes. A client that sends an incomplete command is
//! answered after 10 seconds, as Kea answers it; one longer than [`MAX_COMMAND`] bytes is
//! refused, and its bytes are read no further. Only the server's own user and root are
//! served (by the socket's mode, and by the peer's credentials, should the mode be widened),
//! and at most [`MAX_CONNECTIONS`] at once: a flood of idle connections cannot take the
//! server's memory or descriptors.

use crate::Command;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Notify, mpsc, oneshot};

/// How long a client may take to send its command.
const IDLE: Duration = Duration::from_secs(10);
/// The largest command accepted (a `config-set` with thousands of reservations fits).
const MAX_COMMAND: usize = 64 << 20;
/// The most connections served at once; the next is answered "busy" and closed.
const MAX_CONNECTIONS: usize = 64;
/// How long a refused connection's command is read (and dropped) before the refusal is sent.
const REFUSED_WAIT: Duration = Duration::from_millis(200);
/// How much of a refused connection's command is read at most.
const REFUSED_READ: usize = 64 << 10;

/// The listening socket; its file is removed when this is dropped.
#[derive(Debug)]
pub(crate) struct Listener {
    path: PathBuf,
    open: Arc<AtomicUsize>,
    closed: Arc<Notify>,
}

impl Listener {
    /// Waits (at most `limit`) until every connection has its answer, so a `shutdown`
    /// command is answered before the daemon exits.
    pub(crate) async fn drain(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, async {
            loop {
                // Registered before the check, so a close between the two is not missed.
                let closed = self.closed.notified();
                tokio::pin!(closed);
                closed.as_mut().enable();
                if self.open.load(Ordering::SeqCst) == 0 {
                    return;
                }
                closed.await;
            }
        })
        .await;
    }
}

/// Counts a connection as open until dropped.
struct Open {
    open: Arc<AtomicUsize>,
    closed: Arc<Notify>,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::SeqCst);
        self.closed.notify_waiters();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Opens the socket at `path` and serves it for ever, each command sent to `commands`.
pub(crate) fn listen(path: &Path, commands: mpsc::Sender<Command>) -> io::Result<Listener> {
    // A socket file left by a killed server is replaced; anything else at the path is not.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        }
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let open = Arc::new(AtomicUsize::new(0));
    let closed = Arc::new(Notify::new());
    let (counter, notify) = (open.clone(), closed.clone());
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((mut stream, _)) => {
                    if let Some(refusal) = refuse(&stream, counter.load(Ordering::SeqCst)) {
                        tokio::spawn(async move {
                            // What the client sent is read (and dropped) first: a socket
                            // closed with unread bytes resets, and the client would lose the
                            // answer.
                            let mut sink = [0u8; 4096];
                            let mut left = REFUSED_READ;
                            let _ = tokio::time::timeout(REFUSED_WAIT, async {
                                while left > 0 {
                                    match stream.read(&mut sink).await {
                                        Ok(0) | Err(_) => break,
                                        Ok(n) => left = left.saturating_sub(n),
                                    }
                                }
                            })
                            .await;
                            let answer = serde_json::json!({ "result": 1, "text": refusal });
                            let _ = stream.write_all(answer.to_string().as_bytes()).await;
                            let _ = stream.shutdown().await;
                        });
                        continue;
                    }
                    let commands = commands.clone();
                    counter.fetch_add(1, Ordering::SeqCst);
                    let guard = Open {
                        open: counter.clone(),
                        closed: notify.clone(),
                    };
                    tokio::spawn(async move {
                        let _guard = guard;
                        if let Err(e) = serve(stream, commands).await {
                            tracing::debug!("control connection: {e}");
                        }
                    });
                }
                Err(e) => {
                    tracing::error!("control socket: {e}");
                    return;
                }
            }
        }
    });
    Ok(Listener {
        path: path.to_path_buf(),
        open,
        closed,
    })
}

/// Why a new connection is not served, if it is not: its peer is another user than the
/// server's and not root, or `open` connections are already served.
fn refuse(stream: &UnixStream, open: usize) -> Option<String> {
    let own = nix::unistd::geteuid().as_raw();
    match stream.peer_cred() {
        Ok(c) if c.uid() != own && c.uid() != 0 => {
            return Some(format!(
                "refused: this control socket serves its owner (uid {own}) and root, not uid {}",
                c.uid()
            ));
        }
        Ok(_) => {}
        Err(e) => return Some(format!("refused: the peer's credentials are unknown: {e}")),
    }
    (open >= MAX_CONNECTIONS)
        .then(|| format!("busy: {MAX_CONNECTIONS} control connections are open; try again"))
}

async fn serve(mut stream: UnixStream, commands: mpsc::Sender<Command>) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut scan = Scan::default();
    let text = loop {
        match tokio::time::timeout(IDLE, stream.read(&mut chunk)).await {
            Err(_) => {
                let answer = serde_json::json!({
                    "result": 1,
                    "text": format!("Connection over control channel timed out, discarded partial command of {} bytes", buf.len()),
                });
                stream.write_all(answer.to_string().as_bytes()).await?;
                return Ok(());
            }
            Ok(read) => {
                let n = read?;
                let bytes = chunk.get(..n).unwrap_or_default();
                let whole = scan.feed(bytes);
                buf.extend_from_slice(bytes);
                if buf.len() > MAX_COMMAND {
                    let answer = serde_json::json!({
                        "result": 1,
                        "text": format!("command refused: it is longer than {MAX_COMMAND} bytes"),
                    });
                    stream.write_all(answer.to_string().as_bytes()).await?;
                    return Ok(());
                }
                if whole || n == 0 {
                    break String::from_utf8_lossy(&buf).into_owned();
                }
            }
        }
    };
    let (answer, rx) = oneshot::channel();
    if commands.send(Command { text, answer }).await.is_err() {
        return Ok(());
    }
    if let Ok(answer) = rx.await {
        stream.write_all(answer.to_string().as_bytes()).await?;
        stream.shutdown().await?;
    }
    Ok(())
}

/// Follows a command's bytes as they arrive, each byte once, to tell when the command is
/// whole: when its top-level object (or array) closes, or at once when it does not start
/// like one (it can never be a command, so it is answered). Parsing the whole buffer again
/// at every read instead would cost time quadratic in the command's length.
#[derive(Debug, Default)]
struct Scan {
    /// Open objects and arrays, outside strings.
    depth: usize,
    /// Inside a string.
    in_string: bool,
    /// Just after a backslash inside a string.
    escaped: bool,
    /// The command is whole (or never can be).
    whole: bool,
}

impl Scan {
    /// Takes the next bytes; true when the command is whole.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            if self.whole {
                break;
            }
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\n' | b'\r' => {}
                b'{' | b'[' => self.depth += 1,
                b'"' if self.depth > 0 => self.in_string = true,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    self.whole = self.depth == 0;
                }
                _ if self.depth == 0 => self.whole = true,
                _ => {}
            }
        }
        self.whole
    }
}

#[cfg(test)]
mod tests {
    use super::Scan;

    fn whole(chunks: &[&[u8]]) -> bool {
        let mut scan = Scan::default();
        chunks.iter().any(|c| scan.feed(c))
    }

    #[test]
    fn a_command_is_whole_when_its_json_closes() {
        assert!(!whole(&[b""]));
        assert!(!whole(&[b"{\"command\": \"list-"]));
        assert!(whole(&[b"{\"command\": \"list-commands\"}"]));
        assert!(whole(&[b"  {\"command\": ", b"\"list-commands\"", b"}"]));
        assert!(whole(&[b"garbage"]), "never JSON: answered at once");
    }

    #[test]
    fn brackets_and_quotes_inside_strings_do_not_count() {
        assert!(!whole(&[br#"{"command": "x", "arguments": {"a": "}\"}"#]));
        assert!(whole(&[br#"{"command": "x", "arguments": {"a": "}\\"}}"#]));
        assert!(whole(&[br#"{"a": ["]", {"b": "{"}]}"#]));
    }
}
