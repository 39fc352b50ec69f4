//! A real SMTP server for the tests: `tools/smtp/mailbox.py` on Python's aiosmtpd, on a free
//! port of 127.0.0.1, keeping every message it accepts as a file.
//!
//! Python comes from `LEDGERLINK_PYTHON`, else the repository's `.venv/bin/python` (which
//! `.ci/run` makes), else `python3`. Without aiosmtpd the test fails, saying how to get it: a
//! test of e-mail that cannot run must not pass.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

const REPOSITORY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The Python that runs the test SMTP server.
pub fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("LEDGERLINK_PYTHON") {
        return python.into();
    }
    let venv = Path::new(REPOSITORY).join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    "python3".into()
}

/// A running server; stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    mail_dir: tempfile::TempDir,
    child: Child,
    /// The server exits when this closes, also when the test process dies.
    _stdin: ChildStdin,
}

impl SmtpServer {
    /// Starts a server; with `login` (user, password) every client must log in with it.
    pub fn start(login: Option<(&str, &str)>) -> SmtpServer {
        let python = python();
        let has_aiosmtpd = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert!(
            has_aiosmtpd,
            "the e-mail tests need Python with aiosmtpd, and `{}` has none. Run `.ci/run`, or at \
             the repository root `python3 -m venv .venv && .venv/bin/pip install aiosmtpd` \
             (or set LEDGERLINK_PYTHON to a Python that has it)",
            python.display()
        );
        let mail_dir = tempfile::tempdir().expect("a temporary directory");
        let log = std::fs::File::create(mail_dir.path().join("server.log")).expect("a log file");
        let mut command = Command::new(&python);
        command
            .arg(Path::new(REPOSITORY).join("tools/smtp/mailbox.py"))
            .arg(mail_dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        if let Some((user, password)) = login {
            command
                .args(["--user", user])
                .env("LEDGERLINK_SMTP_PASSWORD", password);
        }
        let mut child = command.spawn().expect("python starts");
        let stdin = child.stdin.take().expect("piped stdin");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut ready)
            .expect("the server's first line");
        let port = ready
            .trim()
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse().ok())
            .unwrap_or_else(|| {
                let log = std::fs::read_to_string(mail_dir.path().join("server.log"));
                panic!("the SMTP server did not start: {ready:?} {log:?}")
            });
        SmtpServer {
            port,
            mail_dir,
            child,
            _stdin: stdin,
        }
    }

    /// The messages accepted so far, in the order they came.
    pub fn mails(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.mail_dir.path())
            .expect("the mail directory")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|path| Mail::parse(&std::fs::read_to_string(path).expect("a message")))
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message as the server received it.
#[derive(Clone, Debug)]
pub struct Mail {
    /// Exactly as it arrived, after the server's envelope headers.
    pub raw: String,
    /// Headers, unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from its transfer encoding.
    pub body: String,
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            match (line.starts_with([' ', '\t']), headers.last_mut()) {
                (true, Some((_, value))) => value.push_str(line),
                _ => {
                    if let Some((name, value)) = line.split_once(':') {
                        headers.push((name.to_string(), value.trim().to_string()));
                    }
                }
            }
        }
        let mail = Mail {
            raw: raw.clone(),
            headers,
            body: String::new(),
        };
        let body = match mail.header("Content-Transfer-Encoding") {
            Some(encoding) if encoding.eq_ignore_ascii_case("quoted-printable") => {
                quoted_printable(body)
            }
            _ => body.to_string(),
        };
        Mail { body, ..mail }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Who the server delivered it to (the envelope, not the `To` header).
    pub fn recipients(&self) -> Vec<String> {
        self.header("X-RcptTo")
            .unwrap_or_default()
            .split(", ")
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// RFC 2045 quoted-printable: `=XX` is a byte, `=` at a line's end joins it to the next.
fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\n", "");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
