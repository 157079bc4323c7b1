//! A throwaway HTTP server for unit tests: a thread on a free 127.0.0.1 port answering the next requests with
//! canned responses (`{url}` in them stands for the server's own URL), one connection each, and handing back
//! what it was sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

/// A server answering a fixed list of responses.
pub(crate) struct Canned {
    /// `http://127.0.0.1:PORT`.
    pub(crate) url: String,
    thread: JoinHandle<Vec<String>>,
}

/// An answer: status line and extra headers, and a body.
pub(crate) fn answer(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

impl Canned {
    /// Serves `answers`, one request each, in order.
    pub(crate) fn serve(answers: Vec<String>) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a test port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let answers: Vec<String> = answers.iter().map(|a| a.replace("{url}", &url)).collect();
        let thread = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for answer in answers {
                let Ok((conn, _)) = listener.accept() else { break };
                let mut reader = BufReader::new(conn);
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("content-length")
                    {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                head.push_str(&String::from_utf8_lossy(&body));
                seen.push(head);
                let _ = reader.get_mut().write_all(answer.as_bytes());
            }
            seen
        });
        Canned { url, thread }
    }

    /// The requests received (head, then body), once every answer was given.
    pub(crate) fn requests(self) -> Vec<String> {
        self.thread.join().expect("test server thread")
    }
}
