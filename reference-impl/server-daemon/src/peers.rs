//! HA peer traffic over HTTP/1.1 on TCP, as Kea's HA client and its Control Agent carry it:
//! the peer commands this server's HA service sends to its partner ([`Requester`], one
//! connection per request, closed after the answer) and the endpoint at this server's own
//! peer URL that answers the partner's ([`Endpoint`]).
//!
//! Requests run as tasks of their own, concurrently, each bounded by its `timeout`; their
//! answers come back over a channel to the task that owns the [`dhcplab_server::Server`].
//! The endpoint's connections hand their commands to that task too, over the control
//! socket's channel, so a peer command is carried out exactly as a control command is.

use crate::Command;
use dhcplab_ha::Request;
use dhcplab_ha::http::{self, HttpError, Message};
use dhcplab_server::Server;
use serde_json::Value;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a partner may take to send its whole command (Kea's Control Agent waits 10 s).
const IDLE: Duration = Duration::from_secs(10);
/// How much is read at a time.
const CHUNK: usize = 16 * 1024;
/// Answers waiting for the server's task; a request's task waits when this many are queued.
const ANSWERS: usize = 64;
/// The answer to bytes that are not an HTTP POST this endpoint takes.
const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
/// The answer to a partner that did not send its whole command in time.
const TIMED_OUT: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n";
/// How long the endpoint pauses after a failed accept (out of file descriptors), so it does
/// not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Why one HTTP message could not be read from a connection.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The bytes are not an HTTP message, or are over the limits.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A whole HTTP message whose body is not JSON (an error status often has none).
    #[error("{start:?}: {source}")]
    Body {
        /// The message's request or status line.
        start: String,
        /// Why the body was refused.
        #[source]
        source: HttpError,
    },
    /// The other side closed the connection before a whole message (after this many bytes).
    #[error("connection closed after {0} bytes, before a whole message")]
    Closed(usize),
}

/// Why a peer command has no answer; its text is what the HA service is told.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The connection could not be made (refused, unreachable).
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The peer's address and port.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The command could not be written.
    #[error("sending to {addr}: {source}")]
    Send {
        /// The peer's address and port.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The answer could not be read, or is not HTTP with a JSON body.
    #[error("reading the answer of {addr}: {source}")]
    Answer {
        /// The peer's address and port.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: ReadError,
    },
    /// The peer answered with another status than 200.
    #[error("{addr} answered {start:?}")]
    Status {
        /// The peer's address and port.
        addr: SocketAddr,
        /// The answer's status line.
        start: String,
    },
    /// No whole answer came within the request's timeout.
    #[error("no answer from {addr} within {} ms", timeout.as_millis())]
    Timeout {
        /// The peer's address and port.
        addr: SocketAddr,
        /// The request's timeout.
        timeout: Duration,
    },
}

/// Why the endpoint cannot listen at this server's peer URL.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The address could not be bound (in use, not an address of this host).
    #[error("HA peer endpoint {addr}: {source}")]
    Bind {
        /// The address and port of this server's peer URL.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// Reads one HTTP message from `stream`, taking no more than [`http::parse`]'s limits allow.
async fn read_message(stream: &mut TcpStream) -> Result<Message, ReadError> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        match http::parse(&buf) {
            Ok(Some((message, _))) => return Ok(message),
            Ok(None) => {}
            Err(source @ HttpError::NotJson(_)) => {
                let start = buf.split(|b| *b == b'\r').next().unwrap_or_default();
                return Err(ReadError::Body {
                    start: String::from_utf8_lossy(start).into_owned(),
                    source,
                });
            }
            Err(e) => return Err(ReadError::Http(e)),
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(ReadError::Closed(buf.len()));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// POSTs `request`'s command to its peer on a connection of its own and reads the answer:
/// the answer's JSON body (a list of one answer, as the Control Agent sends) on status 200.
/// The whole exchange, connecting included, is bounded by `request.timeout`.
pub async fn exchange(request: &Request) -> Result<Value, PeerError> {
    let addr = SocketAddr::new(request.host, request.port);
    match tokio::time::timeout(request.timeout, talk(addr, request)).await {
        Ok(result) => result,
        Err(_) => Err(PeerError::Timeout {
            addr,
            timeout: request.timeout,
        }),
    }
}

/// [`exchange`] without its timeout.
async fn talk(addr: SocketAddr, request: &Request) -> Result<Value, PeerError> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|source| PeerError::Connect { addr, source })?;
    let bytes = http::request(&request.host.to_string(), &request.body);
    stream
        .write_all(&bytes)
        .await
        .map_err(|source| PeerError::Send { addr, source })?;
    let answer = match read_message(&mut stream).await {
        Ok(answer) => answer,
        // An error status with no JSON body is reported by its status.
        Err(ReadError::Body { start, .. }) if !is_ok(&start) => {
            return Err(PeerError::Status { addr, start });
        }
        Err(source) => return Err(PeerError::Answer { addr, source }),
    };
    // The connection closes when `stream` is dropped: one request per connection.
    if is_ok(&answer.start) {
        Ok(answer.body)
    } else {
        Err(PeerError::Status {
            addr,
            start: answer.start,
        })
    }
}

/// Whether `start` is the status line of a `200` answer.
fn is_ok(start: &str) -> bool {
    let message = Message {
        start: start.to_string(),
        body: Value::Null,
    };
    message.status() == Some(200)
}

/// The outcome of one peer command, for [`Server::handle_peer_answer`].
#[derive(Debug)]
pub struct PeerAnswer {
    /// The request's id in the HA service.
    pub id: u64,
    /// The answer's JSON body, or why there is none.
    pub result: Result<Value, String>,
}

/// Carries the core's peer commands ([`dhcplab_server::Action::PeerRequest`]), each on a task
/// of its own, and queues their answers for the task that owns the server, which alone may
/// hand them to it.
#[derive(Debug, Clone)]
pub struct Requester {
    answers: mpsc::Sender<PeerAnswer>,
}

impl Requester {
    /// A requester, and where the answers of the commands it sends arrive.
    pub fn new() -> (Self, mpsc::Receiver<PeerAnswer>) {
        let (answers, received) = mpsc::channel(ANSWERS);
        (Self { answers }, received)
    }

    /// Starts sending `request`; its answer (or why there is none) arrives on the receiver
    /// by the request's timeout at the latest. Must be called within the tokio runtime.
    pub fn send(&self, request: Request) {
        let answers = self.answers.clone();
        tokio::spawn(async move {
            let result = exchange(&request).await.map_err(|e| {
                let command = request.body["command"].as_str().unwrap_or("?");
                tracing::warn!("HA peer command {command} to {} failed: {e}", request.peer);
                e.to_string()
            });
            // Closed only when the server's task has stopped: the answer is not needed.
            let _ = answers
                .send(PeerAnswer {
                    id: request.id,
                    result,
                })
                .await;
        });
    }
}

/// Where this server's HA peer endpoint listens (the address and port of its own peer URL),
/// or `None` when the configuration has no HA.
pub fn endpoint_address(server: &Server) -> Option<SocketAddr> {
    server.ha().map(|ha| {
        let me = ha.config().this_server();
        SocketAddr::new(me.host, me.port)
    })
}

/// The HTTP endpoint at this server's own peer URL, where the partner POSTs its commands, as
/// it would to Kea's Control Agent. It follows the configuration: [`Endpoint::follow`] after
/// each reload moves or closes it.
#[derive(Debug)]
pub(crate) struct Endpoint {
    commands: mpsc::Sender<Command>,
    listening: Option<Listening>,
}

/// A bound listener and the task that accepts its connections.
#[derive(Debug)]
struct Listening {
    /// The address asked for.
    addr: SocketAddr,
    /// The address bound (another port when 0 was asked for).
    local: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Endpoint {
    /// An endpoint that listens nowhere yet, whose commands go to `commands`.
    pub(crate) fn new(commands: mpsc::Sender<Command>) -> Self {
        Self {
            commands,
            listening: None,
        }
    }

    /// Makes the endpoint listen at `wanted` (nowhere for `None`): a listener at another
    /// address is closed first (its socket released before the new bind, so a move to the
    /// same port on another address works); one at `wanted` already stays. Connections
    /// already accepted finish their command either way. After a failed bind the endpoint
    /// listens nowhere, and the next call tries again.
    pub(crate) async fn follow(&mut self, wanted: Option<SocketAddr>) -> Result<(), EndpointError> {
        if self.listening.as_ref().map(|l| l.addr) == wanted {
            return Ok(());
        }
        if let Some(mut old) = self.listening.take() {
            old.task.abort();
            // Resolves once the task, and with it the listening socket, is dropped.
            let _ = (&mut old.task).await;
            tracing::info!("HA peer endpoint on {} closed", old.local);
        }
        let Some(addr) = wanted else {
            return Ok(());
        };
        let bind = |source| EndpointError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind)?;
        let local = listener.local_addr().map_err(bind)?;
        let task = tokio::spawn(accept(listener, self.commands.clone()));
        tracing::info!("HA peer endpoint listening on {local}");
        self.listening = Some(Listening { addr, local, task });
        Ok(())
    }

    /// The address the endpoint is bound to, if it listens.
    #[cfg(test)]
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.listening.as_ref().map(|l| l.local)
    }
}

/// Accepts connections for ever, each served on a task of its own.
async fn accept(listener: TcpListener, commands: mpsc::Sender<Command>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let commands = commands.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, commands).await {
                        tracing::debug!("HA peer connection from {from}: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("HA peer endpoint: accepting: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Answers the one command POSTed on `stream`, then closes it.
async fn serve(mut stream: TcpStream, commands: mpsc::Sender<Command>) -> io::Result<()> {
    let message = match tokio::time::timeout(IDLE, read_message(&mut stream)).await {
        Err(_) => return finish(stream, TIMED_OUT).await,
        Ok(Err(ReadError::Io(e))) => return Err(e),
        // Nothing at all sent: a probe of the port, not a request.
        Ok(Err(ReadError::Closed(0))) => return Ok(()),
        Ok(Err(e)) => {
            tracing::debug!("HA peer endpoint: bad request: {e}");
            return finish(stream, BAD_REQUEST).await;
        }
        Ok(Ok(m)) => m,
    };
    if message.start.split(' ').next() != Some("POST") {
        tracing::debug!("HA peer endpoint: not a POST: {:?}", message.start);
        return finish(stream, BAD_REQUEST).await;
    }
    let (answer, answered) = oneshot::channel();
    let command = Command {
        text: message.body.to_string(),
        answer,
    };
    if commands.send(command).await.is_err() {
        // The server is stopping: no answer.
        return Ok(());
    }
    match answered.await {
        Ok(answer) => finish(stream, &http::response(&answer)).await,
        Err(_) => Ok(()),
    }
}

/// Writes `bytes` and closes the connection.
async fn finish(mut stream: TcpStream, bytes: &[u8]) -> io::Result<()> {
    stream.write_all(bytes).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests;
