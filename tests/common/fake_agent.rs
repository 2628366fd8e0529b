//! A fake Consul agent for faults a real one will not produce on demand: it serves
//! recorded (real) roots and leaf responses, honours blocking queries, and can be switched
//! to answer with 5xx, hang, truncate or garble its answers.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// What the fake answers with.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// The recorded bodies, with the current index.
    None,
    /// HTTP 500 with a Consul-like error text.
    ServerError,
    /// Accepts the request and never answers.
    Hang,
    /// Announces the full length, sends half the body, closes.
    Truncated,
    /// A 200 whose body is this text.
    Body(String),
}

struct State {
    roots: String,
    leaf: String,
    index: u64,
    fault: Fault,
    /// Applies the fault to the leaf endpoint only.
    leaf_only: bool,
    requests: u64,
}

/// The running fake; its thread and connections end with the test process.
pub struct FakeAgent {
    state: Arc<(Mutex<State>, Condvar)>,
    port: u16,
}

impl FakeAgent {
    /// Serves `roots` and `leaf` (JSON bodies as the real agent returns them) at index 10.
    pub fn start(roots: String, leaf: String) -> FakeAgent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new((
            Mutex::new(State {
                roots,
                leaf,
                index: 10,
                fault: Fault::None,
                leaf_only: false,
                requests: 0,
            }),
            Condvar::new(),
        ));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        FakeAgent { state, port }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Switches the behaviour and wakes blocked queries (the index moves on).
    pub fn set(&self, fault: Fault, leaf_only: bool) {
        self.update(|s| {
            s.fault = fault;
            s.leaf_only = leaf_only;
        });
    }

    /// Replaces the recorded bodies.
    pub fn set_bodies(&self, roots: Option<String>, leaf: Option<String>) {
        self.update(|s| {
            if let Some(r) = roots {
                s.roots = r;
            }
            if let Some(l) = leaf {
                s.leaf = l;
            }
        });
    }

    /// Sets the index (to make it go backwards, for example).
    pub fn set_index(&self, index: u64) {
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().index = index;
        cv.notify_all();
    }

    /// Number of requests served so far.
    pub fn requests(&self) -> u64 {
        self.state.0.lock().unwrap().requests
    }

    fn update(&self, f: impl FnOnce(&mut State)) {
        let (lock, cv) = &*self.state;
        let mut s = lock.lock().unwrap();
        f(&mut s);
        s.index += 1;
        cv.notify_all();
    }
}

fn serve(stream: TcpStream, shared: &(Mutex<State>, Condvar)) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
        }
        let target = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_string();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let wanted_index: Option<u64> = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("index="))
            .and_then(|v| v.parse().ok());

        let (lock, cv) = shared;
        let mut s = lock.lock().unwrap();
        s.requests += 1;
        // Blocking query: wait (up to 2 s) for the index to move past the one asked for.
        if let Some(wanted) = wanted_index {
            let deadline = Instant::now() + Duration::from_secs(2);
            while s.index == wanted && Instant::now() < deadline {
                s = cv.wait_timeout(s, Duration::from_millis(100)).unwrap().0;
            }
        }
        let is_leaf = path.starts_with("/v1/agent/connect/ca/leaf/");
        let body = if is_leaf {
            s.leaf.clone()
        } else {
            s.roots.clone()
        };
        let fault = if s.leaf_only && !is_leaf {
            Fault::None
        } else {
            s.fault.clone()
        };
        let index = s.index;
        drop(s);

        let ok = |body: &str| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: {index}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
        };
        let response = match fault {
            Fault::None => ok(&body),
            Fault::Body(text) => ok(&text),
            Fault::ServerError => {
                let text = "rpc error making call: No cluster leader";
                format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                )
            }
            Fault::Hang => {
                std::thread::sleep(Duration::from_secs(120));
                return;
            }
            Fault::Truncated => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: {index}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&body.as_bytes()[..body.len() / 2]);
                return;
            }
        };
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}
