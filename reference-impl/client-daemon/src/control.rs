//! The agent's control socket, which `dhcplab info` asks: a unix socket that takes one JSON
//! request per connection and answers with one JSON object, in the manner of Kea's (`result`
//! 0 success, 1 error, 2 unknown command, 3 empty). Every request only reads, and dhcpinfo is
//! a command for every user, so the socket is open to all local users (mode 0666). A socket
//! another agent still answers on is not taken over.
//!
//! Requests: `{"command": "lease", "interface": "eth0"}` (the interface may be left out: the
//! first interface given to the agent that holds a lease) answers with the interface, its
//! state, and the lease's ACK in hex, from which the caller reads any option; `{"command":
//! "status"}` lists every interface with its state and address.

use dhcplab_client::Lease;
use serde_json::{Value, json};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;

/// The longest request read.
const MAX_REQUEST: u64 = 64 * 1024;

/// What an interface shows the control socket.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The client's state, as `Bound`.
    pub state: String,
    /// The lease held.
    pub lease: Option<Lease>,
}

/// Every interface's snapshot, in the order the agent was given them.
pub type Board = Arc<Mutex<Vec<(String, Snapshot)>>>;

/// How long a connection may take to send its request.
const REQUEST_TIME: Duration = Duration::from_secs(5);

/// Binds the socket at `path`: a stale socket file is replaced, a live one (another agent
/// answers on it) is an `AddrInUse` error.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another agent answers on this control socket",
        ));
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

/// Answers connections on `listener` for ever; a failed accept (as when descriptors run out)
/// is reported through `warn` and retried after a pause.
pub async fn serve(listener: UnixListener, board: Board, warn: impl Fn(&io::Error)) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                warn(&e);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let board = board.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = BufReader::new(read.take(MAX_REQUEST));
            let answer = match tokio::time::timeout(REQUEST_TIME, reader.read_line(&mut line)).await
            {
                Ok(Ok(_)) => answer(&line, &board),
                Ok(Err(e)) => json!({"result": 1, "text": format!("cannot read the request: {e}")}),
                Err(_) => json!({"result": 1, "text": "no request within 5 s"}),
            };
            let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
        });
    }
}

/// The answer to request `text`.
pub fn answer(text: &str, board: &Board) -> Value {
    let request: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return json!({"result": 1, "text": format!("not JSON: {e}")}),
    };
    let Ok(board) = board.lock() else {
        return json!({"result": 1, "text": "the agent's state is unavailable"});
    };
    let interface = request.get("interface").and_then(Value::as_str);
    match request.get("command").and_then(Value::as_str) {
        Some("status") => {
            let list: Vec<Value> = board
                .iter()
                .map(|(name, s)| {
                    json!({"interface": name, "state": s.state,
                           "address": s.lease.as_ref().map(|l| l.address.to_string())})
                })
                .collect();
            json!({"result": 0, "arguments": {"interfaces": list}})
        }
        Some("lease") => {
            let found = match interface {
                Some(name) => board.iter().find(|(n, _)| n == name),
                None => board.iter().find(|(_, s)| s.lease.is_some()),
            };
            match found {
                None => match interface {
                    Some(name) => {
                        json!({"result": 1, "text": format!("interface {name:?} is not under the agent's control")})
                    }
                    None => json!({"result": 3, "text": "no interface holds a lease"}),
                },
                Some((name, s)) => match &s.lease {
                    None => {
                        json!({"result": 3, "text": format!("{name} holds no lease"), "arguments": {"interface": name, "state": s.state}})
                    }
                    Some(l) => {
                        let ack = dhcplab_client::hex::encode(&l.ack);
                        json!({"result": 0, "arguments": {"interface": name, "state": s.state,
                               "address": l.address.to_string(), "ack": ack}})
                    }
                },
            }
        }
        Some(other) => json!({"result": 2, "text": format!("unknown command {other:?}")}),
        None => json!({"result": 1, "text": "no \"command\""}),
    }
}
