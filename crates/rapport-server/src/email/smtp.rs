//! The SMTP connections the email fallback sends through: lettre's SMTP
//! client on sockets this module opens, with `TCP_NODELAY` set, kept in a
//! small pool.
//!
//! Why not lettre's own pooled transport: lettre 0.11 writes a message and
//! then its closing `\r\n.\r\n` as two writes on a socket with Nagle's
//! algorithm on, so the 5-byte terminator waits for the receiver's delayed
//! acknowledgement of the body, about 40 ms per email on Linux. A pooled
//! connection then sends at most ~23 emails/s (docs/benchmarks.md, "Email
//! fallback"). lettre's transport opens its sockets itself and offers no
//! way to set the option, so the connection is opened here and handed to
//! lettre's [`AsyncSmtpConnection::connect_with_transport`], which speaks
//! the protocol (EHLO, STARTTLS, AUTH, dot-stuffing) as before.
//!
//! Plain SMTP and STARTTLS (`?tls=required|opportunistic`) get the no-delay
//! socket. Implicit TLS (`smtps://`) does not: lettre accepts an outside
//! socket only as plain TCP, so those connections are lettre's own and
//! keep the stall until lettre sets the option itself (merged upstream
//! after 0.11.23).

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::Message;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;

/// An idle connection older than this is not used again: servers close
/// idle clients (Postfix after 300 s, many relays sooner).
const MAX_IDLE: Duration = Duration::from_secs(60);
/// An idle connection younger than this is used without a `NOOP` first.
const TRUSTED_IDLE: Duration = Duration::from_secs(5);

/// Where mail goes and how: what `smtp_url` says.
#[derive(Clone)]
pub struct SmtpServer {
    host: String,
    port: u16,
    tls: Tls,
    credentials: Option<Credentials>,
    hello: ClientId,
}

#[derive(Clone)]
enum Tls {
    /// Plain SMTP (`smtp://`): a local relay.
    None,
    /// STARTTLS when the server offers it (`?tls=opportunistic`).
    Opportunistic(TlsParameters),
    /// STARTTLS or no email (`?tls=required`).
    Required(TlsParameters),
    /// TLS from the first byte (`smtps://`).
    Wrapper(TlsParameters),
}

impl SmtpServer {
    /// Reads an SMTP URL as lettre's `from_url` reads it:
    /// `smtp://[user:password@]host[:port][/ehlo-name][?tls=required|opportunistic]`
    /// (port 25, or 587 with `tls`) or `smtps://…` (port 465).
    pub fn from_url(url: &str) -> Result<Self, String> {
        let url = url::Url::parse(url).map_err(|e| e.to_string())?;
        let host = url
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or("has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls_param = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.into_owned());
        let params = || TlsParameters::new(host.clone()).map_err(|e| e.to_string());
        let (tls, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtp", None) => (Tls::None, 25),
            ("smtp", Some("required")) => (Tls::Required(params()?), 587),
            ("smtp", Some("opportunistic")) => (Tls::Opportunistic(params()?), 587),
            ("smtps", _) => (Tls::Wrapper(params()?), 465),
            (scheme, tls) => {
                return Err(format!(
                    "unknown scheme {scheme:?} or tls parameter {tls:?} (smtp://, smtp://…?tls=required, smtp://…?tls=opportunistic or smtps://)"
                ));
            }
        };
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| "has a user name or password that is not UTF-8".to_owned())
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let name = url.path().trim_matches('/');
        let hello = if name.is_empty() {
            ClientId::default()
        } else {
            ClientId::Domain(name.to_owned())
        };
        Ok(Self {
            port: url.port().unwrap_or(default_port),
            host,
            tls,
            credentials,
            hello,
        })
    }

    /// A new connection, greeted, encrypted and signed in as configured.
    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let mut conn = match &self.tls {
            // lettre takes a socket of ours only before TLS, so implicit
            // TLS keeps lettre's own socket, and Nagle with it (see above).
            Tls::Wrapper(params) => {
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    None,
                    &self.hello,
                    Some(params.clone()),
                    None,
                )
                .await?
            }
            _ => {
                let tcp = TcpStream::connect((self.host.as_str(), self.port)).await?;
                tcp.set_nodelay(true)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello).await?
            }
        };
        match &self.tls {
            Tls::Required(params) => conn.starttls(params.clone(), &self.hello).await?,
            Tls::Opportunistic(params) if conn.can_starttls() => {
                conn.starttls(params.clone(), &self.hello).await?
            }
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, credentials).await?;
        }
        Ok(conn)
    }
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl SmtpError {
    /// A 5xx answer: sending again cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Smtp(err) if err.is_permanent())
    }
}

struct Idle {
    conn: AsyncSmtpConnection,
    since: Instant,
}

/// Connections to one SMTP server, reused between emails. At most `size`
/// are kept idle; the number in use is bounded by the callers (the email
/// jobs run `email_concurrency` at once).
pub struct SmtpPool {
    server: SmtpServer,
    idle: Mutex<Vec<Idle>>,
    size: usize,
    timeout: Duration,
}

impl SmtpPool {
    pub fn new(server: SmtpServer, size: usize, timeout: Duration) -> Self {
        Self {
            server,
            idle: Mutex::new(Vec::new()),
            size: size.max(1),
            timeout,
        }
    }

    /// Sends `message` to its envelope's recipients. Each attempt, from
    /// connecting to the server's last answer, is bounded by the timeout.
    pub async fn send(&self, message: &Message) -> Result<(), SmtpError> {
        let body = message.formatted();
        let envelope = message.envelope();
        tokio::time::timeout(self.timeout, async {
            let mut conn = self.take().await?;
            let result = conn.send(envelope, &body).await;
            if result.is_ok() && !conn.has_broken() {
                self.put(conn);
            }
            result.map(drop).map_err(SmtpError::from)
        })
        .await
        .map_err(|_| SmtpError::Timeout(self.timeout))?
    }

    /// An idle connection that still answers, or a new one.
    async fn take(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some(Idle { mut conn, since }) = idle else {
                return self.server.connect().await;
            };
            let age = since.elapsed();
            if age < TRUSTED_IDLE || (age < MAX_IDLE && conn.test_connected().await) {
                return Ok(conn);
            }
            // Too old or gone: dropping it closes the socket.
        }
    }

    fn put(&self, conn: AsyncSmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < self.size {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_read_as_lettre_reads_them() {
        let plain = SmtpServer::from_url("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 2525));
        assert!(matches!(plain.tls, Tls::None) && plain.credentials.is_none());

        let submission =
            SmtpServer::from_url("smtp://me%40acme.test:s%2Bcr%20t@mail.acme.test?tls=required")
                .unwrap();
        assert_eq!(submission.port, 587);
        assert!(matches!(submission.tls, Tls::Required(_)));
        assert_eq!(
            submission.credentials,
            Some(Credentials::new("me@acme.test".into(), "s+cr t".into()))
        );

        let wrapped = SmtpServer::from_url("smtps://mail.acme.test/client.acme.test").unwrap();
        assert_eq!(wrapped.port, 465);
        assert!(matches!(wrapped.tls, Tls::Wrapper(_)));
        assert_eq!(wrapped.hello, ClientId::Domain("client.acme.test".into()));

        let v6 = SmtpServer::from_url("smtp://[::1]:25?tls=opportunistic").unwrap();
        assert_eq!(v6.host, "::1");
        assert!(matches!(v6.tls, Tls::Opportunistic(_)));

        for bad in [
            "http://mail.acme.test",
            "smtp://mail.acme.test?tls=maybe",
            "smtp:///x",
        ] {
            assert!(SmtpServer::from_url(bad).is_err(), "{bad}");
        }
    }
}
