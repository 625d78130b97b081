//! Kea's control channel: a unix socket (mode 0600) that takes one JSON command per
//! connection and answers it, then closes. A client that sends an incomplete command is
//! answered after 10 seconds, as Kea answers it.

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
                Ok((stream, _)) => {
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

async fn serve(mut stream: UnixStream, commands: mpsc::Sender<Command>) -> io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
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
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                if complete(&buf) || n == 0 || buf.len() > MAX_COMMAND {
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

/// True when `buf` holds one whole JSON value (or something that can never become one).
fn complete(buf: &[u8]) -> bool {
    let mut values = serde_json::Deserializer::from_slice(buf).into_iter::<serde_json::Value>();
    match values.next() {
        Some(Ok(_)) => true,
        Some(Err(e)) => !e.is_eof(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::complete;

    #[test]
    fn a_command_is_complete_when_its_json_closes() {
        assert!(!complete(b""));
        assert!(!complete(b"{\"command\": \"list-"));
        assert!(complete(b"{\"command\": \"list-commands\"}"));
        assert!(complete(b"garbage"), "never JSON: answered at once");
    }
}
