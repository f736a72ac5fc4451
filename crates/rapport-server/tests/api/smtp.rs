//! A real SMTP server over TCP for the tests: it accepts every email and
//! keeps it, so a test reads exactly what Rapport sent.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use mail_parser::MessageParser;
use mailin_embedded::{Handler, Response, Server, response};

/// One email as it arrived: the envelope and the raw message.
#[derive(Clone, Debug)]
pub struct Received {
    pub envelope_to: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        MessageParser::default()
            .parse(&self.raw)
            .expect("a parsable email")
    }

    pub fn header(&self, name: &str) -> String {
        self.parsed()
            .header_raw(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .trim()
            .to_owned()
    }

    pub fn text(&self) -> String {
        self.parsed().body_text(0).unwrap_or_default().into_owned()
    }

    pub fn html(&self) -> String {
        self.parsed().body_html(0).unwrap_or_default().into_owned()
    }

    /// The address in the Reply-To header.
    pub fn reply_to(&self) -> String {
        self.parsed()
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .expect("a Reply-To address")
            .to_owned()
    }
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Starts on an address found free earlier (see `free_address`).
    pub fn start_at(addr: SocketAddr) -> Self {
        Self::start_on(TcpListener::bind(addr).unwrap())
    }

    fn start_on(listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut server = Server::new(Keep {
            received: received.clone(),
            to: Vec::new(),
            data: Vec::new(),
        });
        server
            .with_name("sink.test")
            .with_num_threads(64)
            .with_tcp_listener(listener);
        // The server runs until the test process ends.
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { addr, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn emails(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// An address nothing listens on (yet).
pub fn free_address() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[derive(Clone)]
struct Keep {
    received: Arc<Mutex<Vec<Received>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Keep {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.received.lock().unwrap().push(Received {
            envelope_to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        });
        response::OK
    }

    fn helo(&mut self, _ip: IpAddr, _domain: &str) -> Response {
        response::OK
    }
}
