//! HA peer traffic over HTTP/1.1 on TCP, as Kea's HA client and its Control Agent carry it:
//! the peer commands this server's HA service sends to its partner ([`Requester`]) and the
//! endpoint at this server's own peer URL that answers the partner's ([`Endpoint`]).
//!
//! Both sides keep their connections open (HTTP/1.1 persistent connections, as Kea's HA
//! client and Control Agent do): in hot-standby every lease waits for a `lease4-update` to
//! the partner, and a connection per command would cost a handshake and a socket in
//! TIME_WAIT per lease, thousands a second. The requester has up to [`POOL`] connections
//! per peer; the endpoint answers the commands of one connection in turn.
//!
//! Requests run as tasks of their own, concurrently (up to [`POOL`] per peer, on
//! connections of their own; more wait for one), each bounded by its `timeout`; their answers come back over a channel to the task that owns
//! the [`dhcplab_server::Server`]. The endpoint's connections hand their commands to that
//! task too, over the control socket's channel, so a peer command is carried out exactly as
//! a control command is.

use crate::Command;
use dhcplab_ha::http::{self, HttpError, Message};
use dhcplab_ha::{BasicAuth, Request};
use dhcplab_server::Server;
use serde_json::Value;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a partner may take to send its whole command (Kea's Control Agent waits 10 s).
const IDLE: Duration = Duration::from_secs(10);
/// How long the endpoint keeps a connection open with no command on it, waiting for the
/// next (Kea's Control Agent: 30 s); then it closes it without a word.
const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// How many connections the requester has to one peer at most, in use or idle: up to this
/// many requests to a peer run at once, each on a connection of its own (an idle one, else
/// a new one); more wait for a connection to be free, within their timeout.
pub const POOL: usize = 8;
/// An idle connection older than this is closed rather than reused: a peer closes its idle
/// ones after [`KEEP_ALIVE`] (Kea after 30 s too), and a request sent as it does so fails.
const POOL_IDLE: Duration = Duration::from_secs(20);
/// How much is read at a time.
const CHUNK: usize = 16 * 1024;
/// Answers waiting for the server's task; a request's task waits when this many are queued.
const ANSWERS: usize = 64;
/// The answer to bytes that are not an HTTP POST this endpoint takes; the endpoint closes
/// the connection after it.
const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// The answer to a partner that did not send its whole command in time; the endpoint closes
/// the connection after it.
const TIMED_OUT: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
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

/// One HTTP/1.1 connection, either side: its socket and the bytes read past the last whole
/// message (the start of the next one, when the other side sends before it is answered).
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// A whole message read from a [`Connection`].
#[derive(Debug)]
struct Received {
    message: Message,
    /// Whether its sender lets the connection carry another message after this one.
    keep_alive: bool,
}

impl Connection {
    /// A connection on `stream`, with nothing read yet. Small messages go out at once (no
    /// Nagle delay): each is one write and the other side waits for it.
    fn new(stream: TcpStream) -> Self {
        // Only a latency hint: a socket that refuses it still carries the messages.
        let _ = stream.set_nodelay(true);
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    /// Reads one HTTP message, taking no more than [`http::parse`]'s limits allow; the bytes
    /// after it stay for the next call. After an error the connection is of no further use.
    async fn read_message(&mut self) -> Result<Received, ReadError> {
        loop {
            match http::parse(&self.buf) {
                Ok(Some((message, used))) => {
                    let keep_alive = keeps_alive(self.buf.get(..used).unwrap_or_default());
                    self.buf.drain(..used.min(self.buf.len()));
                    if self.buf.is_empty() && self.buf.capacity() > 4 * CHUNK {
                        // A kept connection does not hold on to a large message's memory.
                        self.buf = Vec::new();
                    }
                    return Ok(Received {
                        message,
                        keep_alive,
                    });
                }
                Ok(None) => {}
                Err(source @ HttpError::NotJson(_)) => {
                    let start = self.buf.split(|b| *b == b'\r').next().unwrap_or_default();
                    return Err(ReadError::Body {
                        start: String::from_utf8_lossy(start).into_owned(),
                        source,
                    });
                }
                Err(e) => return Err(ReadError::Http(e)),
            }
            if self.fill().await? == 0 {
                return Err(ReadError::Closed(self.buf.len()));
            }
        }
    }

    /// Reads what has arrived (waiting for something) onto the buffer: how many bytes, 0 when
    /// the other side has closed.
    async fn fill(&mut self) -> io::Result<usize> {
        self.buf.reserve(CHUNK);
        self.stream.read_buf(&mut self.buf).await
    }

    /// Whether an idle connection can carry another request: nothing unread, and the other
    /// side has neither closed it nor sent anything since (asked without waiting).
    fn still_open(&self) -> bool {
        let mut probe = [0u8; 1];
        self.buf.is_empty()
            && matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Writes `bytes` and closes the connection.
    async fn finish(mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.shutdown().await
    }
}

/// Whether the sender of `bytes` (one whole message) lets the connection carry another, as
/// Kea decides it: HTTP/1.1 unless a `Connection` header says `close`; HTTP/1.0 only when it
/// says `keep-alive`; any other version never.
fn keeps_alive(bytes: &[u8]) -> bool {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    let head = String::from_utf8_lossy(bytes.get(..end).unwrap_or_default());
    let mut lines = head.split("\r\n");
    let start = lines.next().unwrap_or_default();
    let mut parts = start.split(' ');
    let version = match parts.next() {
        Some(v) if v.starts_with("HTTP/") => v,
        _ => parts.nth(1).unwrap_or_default(),
    };
    let (mut close, mut keep) = (false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                close |= token.eq_ignore_ascii_case("close");
                keep |= token.eq_ignore_ascii_case("keep-alive");
            }
        }
    }
    match version {
        _ if close => false,
        "HTTP/1.1" => true,
        "HTTP/1.0" => keep,
        _ => false,
    }
}

/// The connections to each peer address, kept for the next requests to that peer: Kea's HA
/// client keeps its connections to a peer open too, and one connection per request costs a
/// TCP handshake and a TIME_WAIT socket per lease update in hot-standby.
#[derive(Debug, Default)]
struct Pool {
    peers: Mutex<HashMap<SocketAddr, PeerConnections>>,
}

/// The connections to one peer address.
#[derive(Debug)]
struct PeerConnections {
    /// Those waiting for a request, the most recently used last.
    idle: Vec<Idle>,
    /// One permit per connection in use or idle, [`POOL`] in all: a request beyond waits
    /// (first come, first served) for one to be free, rather than open a connection only to
    /// close it after (a burst of lease updates would otherwise open hundreds at once).
    slots: Arc<Semaphore>,
}

impl Default for PeerConnections {
    fn default() -> Self {
        Self {
            idle: Vec::new(),
            slots: Arc::new(Semaphore::new(POOL)),
        }
    }
}

/// A connection in the pool, and since when it has been idle.
#[derive(Debug)]
struct Idle {
    connection: Connection,
    since: Instant,
}

impl Pool {
    /// The connections, whoever held the lock before (a panic while holding it leaves the
    /// map whole: every change under it is one call).
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, PeerConnections>> {
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one connection to `addr`, once one is free; held for the whole exchange.
    async fn slot(&self, addr: SocketAddr) -> Option<OwnedSemaphorePermit> {
        let slots = self.lock().entry(addr).or_default().slots.clone();
        // Never closed, so never an error; without a permit the request would go anyway.
        slots.acquire_owned().await.ok()
    }

    /// The most recently used idle connection to `addr` that is still open and not too old;
    /// those closed or too old on the way are dropped.
    fn take(&self, addr: SocketAddr) -> Option<Connection> {
        let mut peers = self.lock();
        let idle = &mut peers.get_mut(&addr)?.idle;
        while let Some(i) = idle.pop() {
            if i.since.elapsed() < POOL_IDLE && i.connection.still_open() {
                return Some(i.connection);
            }
        }
        None
    }

    /// Keeps `connection` for the next request to `addr`, unless [`POOL`] are kept already.
    fn put(&self, addr: SocketAddr, connection: Connection) {
        let mut peers = self.lock();
        let idle = &mut peers.entry(addr).or_default().idle;
        idle.retain(|i| i.since.elapsed() < POOL_IDLE);
        if idle.len() < POOL {
            idle.push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }

    /// POSTs `request`'s command and reads the answer (see [`Requester::exchange`]).
    async fn exchange(&self, request: &Request) -> Result<Value, PeerError> {
        let addr = SocketAddr::new(request.host, request.port);
        match tokio::time::timeout(request.timeout, self.talk(addr, request)).await {
            Ok(result) => result,
            // The connection in use, in an unknown state, was dropped with the exchange.
            Err(_) => Err(PeerError::Timeout {
                addr,
                timeout: request.timeout,
            }),
        }
    }

    /// [`Pool::exchange`] without its timeout: once a slot is free, on an idle connection
    /// if there is one, again once on a new connection if the peer had closed that one
    /// before answering anything; the connection goes back to the pool after a whole `200`
    /// answer that lets it.
    async fn talk(&self, addr: SocketAddr, request: &Request) -> Result<Value, PeerError> {
        let _slot = self.slot(addr).await;
        let bytes = http::request(
            &request.host.to_string(),
            &request.body,
            request.authorization.as_deref(),
        );
        if let Some(mut connection) = self.take(addr) {
            match once(&mut connection, addr, &bytes).await {
                Ok((body, keep)) => {
                    if keep {
                        self.put(addr, connection);
                    }
                    return Ok(body);
                }
                // Closed by the peer (its idle timeout, a restart) as the command went out:
                // the command was not taken, so it goes again on a new connection.
                Err(e) if connection.buf.is_empty() && is_closed(&e) => {
                    tracing::debug!("HA peer connection to {addr} was closed, reconnecting: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| PeerError::Connect { addr, source })?;
        let mut connection = Connection::new(stream);
        let (body, keep) = once(&mut connection, addr, &bytes).await?;
        if keep {
            self.put(addr, connection);
        }
        Ok(body)
    }
}

/// Sends the request `bytes` on `connection` and reads its answer: the answer's JSON body on
/// status 200, and whether the connection may carry another request.
async fn once(
    connection: &mut Connection,
    addr: SocketAddr,
    bytes: &[u8],
) -> Result<(Value, bool), PeerError> {
    connection
        .stream
        .write_all(bytes)
        .await
        .map_err(|source| PeerError::Send { addr, source })?;
    let answer = match connection.read_message().await {
        Ok(answer) => answer,
        // An error status with no JSON body is reported by its status.
        Err(ReadError::Body { start, .. }) if !is_ok(&start) => {
            return Err(PeerError::Status { addr, start });
        }
        Err(source) => return Err(PeerError::Answer { addr, source }),
    };
    if !is_ok(&answer.message.start) {
        return Err(PeerError::Status {
            addr,
            start: answer.message.start,
        });
    }
    // Bytes after the answer are none the request asked for: the connection is not reused.
    let keep = answer.keep_alive && connection.buf.is_empty();
    Ok((answer.message.body, keep))
}

/// Whether `e` is how a connection the peer has closed fails: the write refused, or the
/// socket failing or ending while the answer is read.
fn is_closed(e: &PeerError) -> bool {
    matches!(
        e,
        PeerError::Send { .. }
            | PeerError::Answer {
                source: ReadError::Io(_) | ReadError::Closed(0),
                ..
            }
    )
}

/// POSTs `request`'s command to its peer on a connection of its own, closed after, and reads
/// the answer: the answer's JSON body (a list of one answer, as the Control Agent sends) on
/// status 200. The whole exchange, connecting included, is bounded by `request.timeout`.
/// [`Requester::exchange`] does the same on kept connections.
pub async fn exchange(request: &Request) -> Result<Value, PeerError> {
    Pool::default().exchange(request).await
}

/// Whether `start` is the status line of a `200` answer.
fn is_ok(start: &str) -> bool {
    let message = Message {
        start: start.to_string(),
        authorization: None,
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
/// hand them to it. Its connections to each peer stay open for the next commands (its clones
/// share them).
#[derive(Debug, Clone)]
pub struct Requester {
    answers: mpsc::Sender<PeerAnswer>,
    pool: Arc<Pool>,
}

impl Requester {
    /// A requester, and where the answers of the commands it sends arrive.
    pub fn new() -> (Self, mpsc::Receiver<PeerAnswer>) {
        let (answers, received) = mpsc::channel(ANSWERS);
        let pool = Arc::default();
        (Self { answers, pool }, received)
    }

    /// POSTs `request`'s command to its peer and reads the answer: the answer's JSON body (a
    /// list of one answer, as the Control Agent sends) on status 200. Once fewer than
    /// [`POOL`] other requests to the peer are under way, it goes on an idle connection to
    /// the peer if there is one, else on a new one; the connection is kept
    /// for the next command after a whole answer that does not say `Connection: close`, and
    /// closed after any error. A kept connection the peer had closed before answering
    /// anything is replaced once by a new one. The whole exchange, the wait for a
    /// connection, connecting and that retry included, is bounded by `request.timeout`.
    pub async fn exchange(&self, request: &Request) -> Result<Value, PeerError> {
        self.pool.exchange(request).await
    }

    /// Starts sending `request`; its answer (or why there is none) arrives on the receiver
    /// by the request's timeout at the latest. Must be called within the tokio runtime.
    pub fn send(&self, request: Request) {
        let answers = self.answers.clone();
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let result = pool.exchange(&request).await.map_err(|e| {
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

/// The credentials a peer command must carry to this server (its own peer entry's
/// `basic-auth-*`), or `None` when the configuration asks for none or has no HA.
pub fn endpoint_credentials(server: &Server) -> Option<BasicAuth> {
    server
        .ha()
        .and_then(|ha| ha.config().this_server().basic_auth.clone())
}

/// Credentials the endpoint requires, shared with its connections, which read them per
/// command.
type Required = Arc<Mutex<Option<BasicAuth>>>;

/// The HTTP endpoint at this server's own peer URL, where the partner POSTs its commands, as
/// it would to Kea's Control Agent. It follows the configuration: [`Endpoint::follow`] after
/// each reload moves or closes it, [`Endpoint::require`] sets the credentials it requires.
#[derive(Debug)]
pub(crate) struct Endpoint {
    commands: mpsc::Sender<Command>,
    listening: Option<Listening>,
    required: Required,
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
            required: Arc::default(),
        }
    }

    /// Makes every command from now on need `credentials` (none: no `Authorization`
    /// needed); a command without them is answered `401 Unauthorized` and not run.
    pub(crate) fn require(&self, credentials: Option<BasicAuth>) {
        *self.required.lock().unwrap_or_else(PoisonError::into_inner) = credentials;
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
        let task = tokio::spawn(accept(
            listener,
            self.commands.clone(),
            self.required.clone(),
        ));
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
async fn accept(listener: TcpListener, commands: mpsc::Sender<Command>, required: Required) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let commands = commands.clone();
                let required = required.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(Connection::new(stream), commands, required).await {
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

/// Answers the commands POSTed on `connection`, one after the other, until the partner
/// closes it, asks for its close (`Connection: close`, or HTTP/1.0 without `keep-alive`),
/// sends something else than a whole POST of JSON within [`IDLE`] of its start, sends a
/// command without the credentials `required`, or sends nothing for [`KEEP_ALIVE`] after an
/// answer.
async fn serve(
    mut connection: Connection,
    commands: mpsc::Sender<Command>,
    required: Required,
) -> io::Result<()> {
    let mut first = true;
    loop {
        if !first && connection.buf.is_empty() {
            // Between commands: wait for the next one to start.
            match tokio::time::timeout(KEEP_ALIVE, connection.fill()).await {
                Err(_) | Ok(Ok(0)) => return Ok(()),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(e),
            }
        }
        first = false;
        let received = match tokio::time::timeout(IDLE, connection.read_message()).await {
            Err(_) => return connection.finish(TIMED_OUT).await,
            Ok(Err(ReadError::Io(e))) => return Err(e),
            // Nothing at all sent: a probe of the port, not a request.
            Ok(Err(ReadError::Closed(0))) => return Ok(()),
            Ok(Err(e)) => {
                tracing::debug!("HA peer endpoint: bad request: {e}");
                return connection.finish(BAD_REQUEST).await;
            }
            Ok(Ok(m)) => m,
        };
        if received.message.start.split(' ').next() != Some("POST") {
            tracing::debug!("HA peer endpoint: not a POST: {:?}", received.message.start);
            return connection.finish(BAD_REQUEST).await;
        }
        let admitted = required
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_none_or(|a| a.admits(received.message.authorization.as_deref()));
        if !admitted {
            tracing::warn!("HA peer endpoint: a command without the required credentials");
            return connection.finish(&http::unauthorized()).await;
        }
        let (answer, answered) = oneshot::channel();
        let command = Command {
            text: received.message.body.to_string(),
            answer,
        };
        if commands.send(command).await.is_err() {
            // The server is stopping: no answer.
            return Ok(());
        }
        let Ok(answer) = answered.await else {
            return Ok(());
        };
        let bytes = http::response(&answer);
        if !received.keep_alive {
            return connection.finish(&bytes).await;
        }
        connection.stream.write_all(&bytes).await?;
    }
}

#[cfg(test)]
mod tests;
