//! The SMTP listener for emailed replies (`serve --smtp-listen`), on Tokio:
//! HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP and QUIT, no AUTH or STARTTLS.
//! Only signed reply addresses are mailboxes (refused at RCPT otherwise);
//! an accepted message goes to [`inbound::receive_reply`].
//!
//! Anyone on the internet can connect, so everything is bounded: a command
//! line to 1,000 octets (RFC 5321 4.5.3.1; longer is a 500 and the end of
//! the session), a message to `max_message_bytes` (552), silence to
//! `idle_timeout`, a session to `session_timeout`, and connections in all
//! and per client (IPv6 by /64) to caps beyond which a client gets 421.
//! Commands are parsed by `smtp-proto`, which also undoes dot-stuffing.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rapport_core::model::email::parse_reply_address;
use rapport_core::services::SendError;
use smtp_proto::request::receiver::{DataReceiver, DummyDataReceiver};
use smtp_proto::{Error as ParseError, Request};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};

use super::inbound::{InboundError, receive_reply, verified_target};
use crate::AppState;
use crate::client_addr::ClientCounts;
use crate::config::Config;

/// The longest command line, CRLF included (RFC 5321 4.5.3.1.4-6).
const MAX_COMMAND_LINE: usize = 1000;
/// Recipients of one message (RFC 5321 asks servers to take at least 100).
const MAX_RECIPIENTS: usize = 100;
/// Refused commands before the session is ended: a client that only
/// probes gets no more of the server's time.
const MAX_ERRORS: u32 = 20;
/// How long the input of a session ended for a too-long line is still
/// read and dropped, so the client sees the 500 before the socket closes.
const LINGER: Duration = Duration::from_secs(2);
/// Read buffer per session.
const READ_BUFFER: usize = 8 * 1024;

/// The listener's bounds (see the `smtp_*` settings).
#[derive(Clone, Debug)]
pub struct SmtpLimits {
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// The most a client may be silent: to send a whole command, or the
    /// next bytes of a message.
    pub idle_timeout: Duration,
    /// The most one connection may last.
    pub session_timeout: Duration,
    /// The largest message (after dot-unstuffing), as on the HTTP route
    /// (`inbound_email_limit`).
    pub max_message_bytes: usize,
}

impl SmtpLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            max_connections: config.smtp_max_connections.max(1),
            max_connections_per_ip: config.smtp_max_connections_per_ip.max(1),
            idle_timeout: Duration::from_secs(config.smtp_idle_timeout_seconds.max(1)),
            session_timeout: Duration::from_secs(config.smtp_session_timeout_seconds.max(1)),
            max_message_bytes: config.inbound_email_limit.max(1),
        }
    }
}

impl Default for SmtpLimits {
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

/// Binds `addr` and serves SMTP there in a task of its own until the
/// server stops. Returns the bound address.
pub async fn listen(
    state: AppState,
    addr: SocketAddr,
    limits: SmtpLimits,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, state, limits));
    Ok(bound)
}

/// Serves SMTP on an already-bound listener until `state` starts stopping;
/// then sessions waiting for a command are told 421 and closed, and those
/// in the middle of a message get until their next idle timeout to finish.
pub async fn serve(listener: TcpListener, state: AppState, limits: SmtpLimits) {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "listening for emailed replies over SMTP");
    }
    let mut stop = state.stopping();
    let everyone = Arc::new(Semaphore::new(limits.max_connections));
    let per_client = Arc::new(ClientCounts::default());
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            () = stopped(&mut stop) => break,
            Some(ended) = sessions.join_next(), if !sessions.is_empty() => {
                if let Err(err) = ended.map_err(|e| e.to_string()) {
                    tracing::error!(error = %err, "an SMTP session failed");
                }
            }
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors, most likely: wait, not spin.
                        tracing::warn!(error = %err, "the SMTP listener could not accept");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(permit) = everyone.clone().try_acquire_owned() else {
                    refuse(&stream, "421 4.3.2 Too many connections, try again later\r\n");
                    continue;
                };
                let Some(slot) = per_client.take(peer.ip(), limits.max_connections_per_ip) else {
                    // Debug, not info: a flood of these must not flood the logs too.
                    tracing::debug!(peer = %peer.ip(), "refused an SMTP connection: too many from this client");
                    refuse(&stream, "421 4.7.0 Too many connections from your address, try again later\r\n");
                    continue;
                };
                let session = Session::new(state.clone(), limits.clone(), peer);
                sessions.spawn(async move {
                    session.run(stream).await;
                    drop((permit, slot));
                });
            }
        }
    }
    drop(listener);
    let drained = timeout(limits.idle_timeout, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = sessions.len(),
            "SMTP sessions still open at shutdown were cut"
        );
    }
}

/// Resolves once the server starts stopping.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    // (The guard `wait_for` returns is not `Send`: drop it here.)
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Says why a connection is not served and closes it, without waiting:
/// a fresh socket's send buffer is empty, so the write cannot block.
fn refuse(stream: &TcpStream, reply: &str) {
    let _ = stream.try_write(reply.as_bytes());
}

/// How a session ends early.
enum End {
    /// The client said QUIT, hung up, or the connection failed.
    Done,
    /// Ended by the server with this reply (a 421 or a 500).
    Say(&'static str),
}

/// One SMTP conversation and its transaction.
struct Session {
    state: AppState,
    limits: SmtpLimits,
    peer: SocketAddr,
    greeted: bool,
    /// A MAIL command was accepted: a transaction is open.
    in_transaction: bool,
    recipients: Vec<String>,
    errors: u32,
}

/// What was read when a command was expected.
enum Line {
    Command(Vec<u8>),
    TooLong,
    Closed,
}

/// How the bytes after DATA ended.
enum Data {
    Message(Vec<u8>),
    TooBig,
    Closed,
}

impl Session {
    fn new(state: AppState, limits: SmtpLimits, peer: SocketAddr) -> Self {
        Self {
            state,
            limits,
            peer,
            greeted: false,
            in_transaction: false,
            recipients: Vec::new(),
            errors: 0,
        }
    }

    async fn run(mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::with_capacity(READ_BUFFER, read);
        let deadline = Instant::now() + self.limits.session_timeout;
        let idle = self.limits.idle_timeout;
        let mut stop = self.state.stopping();
        let ended = timeout_at(deadline, self.converse(&mut read, &mut write, &mut stop)).await;
        let last = match ended {
            Ok(End::Done) => None,
            Ok(End::Say(reply)) => Some(reply),
            Err(_) => Some("421 4.4.2 Session time limit reached, closing\r\n"),
        };
        let Some(reply) = last else { return };
        if timeout(idle, write.write_all(reply.as_bytes()))
            .await
            .is_err()
        {
            return;
        }
        // Read and drop what the client is still sending for a moment, so
        // that closing does not reset the connection before it reads why.
        let _ = write.shutdown().await;
        let _ = timeout(LINGER, tokio::io::copy(&mut read, &mut tokio::io::sink())).await;
    }

    async fn converse<R, W>(
        &mut self,
        read: &mut BufReader<R>,
        write: &mut W,
        stop: &mut watch::Receiver<bool>,
    ) -> End
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let greeting = format!(
            "220 {} Rapport ESMTP ready\r\n",
            self.state.email.reply_domain
        );
        if !self.say(write, &greeting).await {
            return End::Done;
        }
        loop {
            let line = tokio::select! {
                line = timeout(self.limits.idle_timeout, read_command(read)) => line,
                () = stopped(stop) => {
                    return End::Say("421 4.3.2 Server shutting down, try again later\r\n");
                }
            };
            let line = match line {
                Err(_) => return End::Say("421 4.4.2 Idle for too long, closing\r\n"),
                Ok(Err(_) | Ok(Line::Closed)) => return End::Done,
                Ok(Ok(Line::TooLong)) => {
                    tracing::info!(peer = %self.peer.ip(), "ended an SMTP session: command line too long");
                    return End::Say("500 5.5.2 Line too long, closing\r\n");
                }
                Ok(Ok(Line::Command(line))) => line,
            };
            let reply = match Request::parse(&mut line.iter()) {
                Ok(request) => match self.command(request, read, write).await {
                    Ok(reply) => reply,
                    Err(end) => return end,
                },
                Err(ParseError::UnknownCommand) => "500 5.5.2 Command not recognized\r\n".into(),
                Err(_) => "501 5.5.4 Syntax error\r\n".into(),
            };
            if reply.starts_with('5') || reply.starts_with('4') {
                self.errors += 1;
                if self.errors > MAX_ERRORS {
                    return End::Say("421 4.7.0 Too many errors, closing\r\n");
                }
            }
            if !self.say(write, &reply).await {
                return End::Done;
            }
        }
    }

    /// Carries out one command: its reply, or how the session ends.
    async fn command<R, W>(
        &mut self,
        request: Request<std::borrow::Cow<'_, str>>,
        read: &mut BufReader<R>,
        write: &mut W,
    ) -> Result<String, End>
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let email = self.state.email.clone();
        let domain = &email.reply_domain;
        Ok(match request {
            Request::Ehlo { .. } => {
                self.greeted = true;
                self.reset();
                format!(
                    "250-{domain}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
                    self.limits.max_message_bytes
                )
            }
            Request::Helo { .. } => {
                self.greeted = true;
                self.reset();
                format!("250 {domain}\r\n")
            }
            Request::Mail { from } => {
                if !self.greeted {
                    "503 5.5.1 Say EHLO first\r\n".into()
                } else if self.in_transaction {
                    "503 5.5.1 A message is already under way\r\n".into()
                } else if from.size > self.limits.max_message_bytes {
                    "552 5.3.4 Message too big\r\n".into()
                } else {
                    self.in_transaction = true;
                    "250 2.1.0 OK\r\n".into()
                }
            }
            Request::Rcpt { to } => {
                if !self.in_transaction {
                    "503 5.5.1 Send MAIL first\r\n".into()
                } else if self.recipients.len() >= MAX_RECIPIENTS {
                    "452 4.5.3 Too many recipients\r\n".into()
                } else {
                    self.recipient(&to.address).await
                }
            }
            Request::Data => {
                if self.recipients.is_empty() {
                    return Ok("503 5.5.1 No valid recipients\r\n".into());
                }
                if !self
                    .say(write, "354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                {
                    return Err(End::Done);
                }
                let data = read_data(read, &self.limits).await;
                let recipients = std::mem::take(&mut self.recipients);
                self.reset();
                match data {
                    Err(_) => return Err(End::Say("421 4.4.2 Idle for too long, closing\r\n")),
                    Ok(Data::Closed) => return Err(End::Done),
                    Ok(Data::TooBig) => "552 5.3.4 Message too big\r\n".into(),
                    Ok(Data::Message(message)) => self.deliver(&message, &recipients).await,
                }
            }
            Request::Rset => {
                self.reset();
                "250 2.0.0 OK\r\n".into()
            }
            Request::Noop { .. } => "250 2.0.0 OK\r\n".into(),
            Request::Quit => {
                let _ = self.say(write, "221 2.0.0 Bye\r\n").await;
                return Err(End::Done);
            }
            Request::Vrfy { .. } => "252 2.5.0 Cannot verify, send the message\r\n".into(),
            _ => "502 5.5.1 Command not implemented\r\n".into(),
        })
    }

    /// RCPT: only a signed reply address of an existing conversation.
    async fn recipient(&mut self, to: &str) -> String {
        let verified = match parse_reply_address(to) {
            Some(signed) => verified_target(&self.state, &signed).await.map(|_| ()),
            None => Err(InboundError::UnknownAddress),
        };
        match verified {
            Ok(()) => {
                self.recipients.push(to.to_owned());
                "250 2.1.5 OK\r\n".into()
            }
            Err(InboundError::Store(err)) => {
                tracing::error!(error = %err, "a reply address could not be checked");
                "451 4.3.0 Try again later\r\n".into()
            }
            Err(_) => {
                tracing::info!(to, "refused mail for an unknown reply address");
                "550 5.1.1 No such mailbox\r\n".into()
            }
        }
    }

    async fn deliver(&self, message: &[u8], recipients: &[String]) -> String {
        match receive_reply(&self.state, message, recipients, None).await {
            Ok(_) | Err(InboundError::Duplicate(_)) => "250 2.0.0 OK\r\n".into(),
            Err(err @ (InboundError::Store(_) | InboundError::Send(SendError::Store(_)))) => {
                tracing::error!(error = %err, "an emailed reply could not be stored; the sender will retry");
                "451 4.3.0 Try again later\r\n".into()
            }
            Err(err) => {
                tracing::warn!(error = %err, "refused an emailed reply");
                // One line, whatever the error says.
                let why = err.to_string().replace(['\r', '\n'], " ");
                format!("550 5.7.1 {why}\r\n")
            }
        }
    }

    fn reset(&mut self) {
        self.in_transaction = false;
        self.recipients.clear();
    }

    /// Writes a reply; `false` when the client does not take it in time.
    async fn say<W: AsyncWrite + Unpin>(&self, write: &mut W, reply: &str) -> bool {
        matches!(
            timeout(self.limits.idle_timeout, write.write_all(reply.as_bytes())).await,
            Ok(Ok(()))
        )
    }
}

/// Reads one command line, CRLF included, never holding more than
/// `MAX_COMMAND_LINE` octets of it.
async fn read_command<R: AsyncBufRead + Unpin>(read: &mut R) -> io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let available = read.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::Closed);
        }
        let room = MAX_COMMAND_LINE - line.len();
        match available.iter().position(|&byte| byte == b'\n') {
            Some(end) if end < room => {
                line.extend_from_slice(&available[..=end]);
                read.consume(end + 1);
                return Ok(Line::Command(line));
            }
            Some(_) => return Ok(Line::TooLong),
            None if available.len() >= room => return Ok(Line::TooLong),
            None => {
                let taken = available.len();
                line.extend_from_slice(available);
                read.consume(taken);
            }
        }
    }
}

/// Reads a message up to its `<CRLF>.<CRLF>`, dot-unstuffed. Past
/// `max_message_bytes` the rest is read and dropped, so the client gets
/// its 552 in step. Each read must come within the idle timeout.
async fn read_data<R: AsyncBufRead + Unpin>(read: &mut R, limits: &SmtpLimits) -> io::Result<Data> {
    let mut message = Vec::new();
    let mut receiver = DataReceiver::new();
    // The data starts at the beginning of a line: tell the receiver, so a
    // first line of "." ends the message and ".." is unstuffed.
    receiver.ingest(&mut b"\r\n".iter(), &mut message);
    message.clear();
    let mut discarding: Option<DummyDataReceiver> = None;
    loop {
        let available = timeout(limits.idle_timeout, read.fill_buf())
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if available.is_empty() {
            return Ok(Data::Closed);
        }
        let mut bytes = available.iter();
        let done = match discarding.as_mut() {
            Some(discard) => discard.ingest(&mut bytes),
            None => receiver.ingest(&mut bytes, &mut message),
        };
        let used = available.len() - bytes.as_slice().len();
        read.consume(used);
        if discarding.is_none() && message.len() > limits.max_message_bytes {
            discarding = Some(DummyDataReceiver::new_data(&receiver));
            message = Vec::new();
        }
        if done {
            return Ok(match discarding {
                Some(_) => Data::TooBig,
                None => Data::Message(message),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn command(input: &[u8]) -> Line {
        read_command(&mut BufReader::new(input)).await.unwrap()
    }

    #[tokio::test]
    async fn command_lines_stop_at_a_thousand_octets() {
        let mut longest = vec![b'a'; MAX_COMMAND_LINE - 2];
        longest.extend_from_slice(b"\r\n");
        assert!(matches!(command(&longest).await, Line::Command(l) if l.len() == MAX_COMMAND_LINE));
        let mut over = vec![b'a'; MAX_COMMAND_LINE - 1];
        over.extend_from_slice(b"\r\n");
        assert!(matches!(command(&over).await, Line::TooLong));
        assert!(matches!(command(&vec![b'a'; 5000]).await, Line::TooLong));
        assert!(matches!(command(b"NOOP").await, Line::Closed));
    }

    async fn data(input: &[u8], max: usize) -> (Data, Vec<u8>) {
        let limits = SmtpLimits {
            max_message_bytes: max,
            ..SmtpLimits::default()
        };
        let mut read = BufReader::with_capacity(16, input);
        let data = read_data(&mut read, &limits).await.unwrap();
        let mut rest = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut read, &mut rest)
            .await
            .unwrap();
        (data, rest)
    }

    #[tokio::test]
    async fn data_is_unstuffed_ends_at_the_lone_dot_and_is_capped() {
        let (got, rest) = data(b"..first\r\nhi\r\n..\r\n.\r\nQUIT\r\n", 100).await;
        assert!(matches!(got, Data::Message(m) if m == b".first\r\nhi\r\n.\r\n"));
        assert_eq!(rest, b"QUIT\r\n");
        let (got, _) = data(b".\r\n", 100).await;
        assert!(matches!(got, Data::Message(m) if m.is_empty()));
        // A bare LF before the dot does not end it (no smuggled commands).
        let (got, _) = data(b"a\n.\nMAIL FROM:<x@y>\r\n.\r\n", 100).await;
        assert!(matches!(got, Data::Message(m) if m == b"a\n.\nMAIL FROM:<x@y>\r\n"));
        // Too big: read to its end all the same, nothing kept.
        let mut big = vec![b'x'; 300];
        big.extend_from_slice(b"\r\n.\r\nNOOP\r\n");
        let (got, rest) = data(&big, 100).await;
        assert!(matches!(got, Data::TooBig));
        assert_eq!(rest, b"NOOP\r\n");
        let (got, _) = data(b"no end", 100).await;
        assert!(matches!(got, Data::Closed));
    }
}
