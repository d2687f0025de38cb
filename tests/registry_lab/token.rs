//! Token auth as the distribution spec has it: a registry with `auth: token` sends clients to
//! a token endpoint, which checks their credentials and issues a JWT the registry verifies.
//! The lab's token endpoint is a thread on 127.0.0.1 that signs RS256 tokens with a key made
//! here (`openssl dgst -sha256 -sign`); the registry trusts that key's certificate
//! (`rootcertbundle`) and finds it in the token's `x5c` header.
//!
//! The endpoint and the registry share one address, as on Quay or GHCR: the thread serves
//! `/token` itself and forwards everything else to the registry. Without credentials it issues
//! an anonymous token that grants nothing (as Docker Hub does), so the registry itself refuses
//! the pull; with wrong ones it answers 401.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;

use super::{PASSWORD, USER, run};

pub const SERVICE: &str = "lab-registry";
pub const ISSUER: &str = "lab-token-issuer";

/// The signing key and its self-signed certificate (the registry's `rootcertbundle`).
#[derive(Clone)]
pub struct Signer {
    pub key: PathBuf,
    pub cert_pem: PathBuf,
    cert_der_b64: String,
}

impl Signer {
    pub fn create(dir: &Path) -> Signer {
        let key = dir.join("token.key");
        let cert_pem = dir.join("token.pem");
        let der = dir.join("token.der");
        run(Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=lab token signer"])
            .args(["-newkey", "rsa:2048", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert_pem));
        run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert_pem)
            .arg("-out")
            .arg(&der));
        let cert_der_b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(&der).unwrap());
        Signer {
            key,
            cert_pem,
            cert_der_b64,
        }
    }

    /// An RS256 JWT granting `actions` on `repository` (nothing when `repository` is None).
    pub fn token(&self, subject: &str, repository: Option<&str>, jti: u64) -> String {
        let url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let header = serde_json::json!({"alg":"RS256","typ":"JWT","x5c":[self.cert_der_b64]});
        let access: Vec<serde_json::Value> = repository
            .map(|r| serde_json::json!({"type":"repository","name":r,"actions":["pull"]}))
            .into_iter()
            .collect();
        let claims = serde_json::json!({"iss":ISSUER,"sub":subject,"aud":SERVICE,"exp":now + 300,
            "nbf":now - 10,"iat":now - 10,"jti":format!("lab-{jti}"),"access":access});
        let signing_input = format!(
            "{}.{}",
            url(header.to_string().as_bytes()),
            url(claims.to_string().as_bytes())
        );
        let mut child = Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl runs");
        child.stdin.take().unwrap().write_all(signing_input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "openssl dgst -sign failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("{signing_input}.{}", url(&out.stdout))
    }
}

/// The registry's `auth:` section for a token endpoint at `front_port`.
pub fn auth_config(front_port: u16, signer: &Signer) -> String {
    format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{front_port}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
        signer.cert_pem.display()
    )
}

/// The token endpoint in front of a registry on `upstream`; stops when dropped.
pub struct Front {
    pub port: u16,
    /// Token requests answered: (with the right credentials, wrong ones, none).
    pub issued: Arc<[AtomicU64; 3]>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Front {
    pub fn start(listener: TcpListener, upstream: u16, signer: Signer) -> Front {
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let issued: Arc<[AtomicU64; 3]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
        let (s, counts) = (stop.clone(), issued.clone());
        let thread = std::thread::spawn(move || {
            let seq = Arc::new(AtomicU64::new(0));
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (signer, counts, seq) = (signer.clone(), counts.clone(), seq.clone());
                        std::thread::spawn(move || {
                            let _ = serve(conn, upstream, &signer, &counts, &seq);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Front {
            port,
            issued,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request head (up to the blank line) and whatever of the body came with it.
fn read_head(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).into_owned();
            return Ok((head, buf[i + 4..].to_vec()));
        }
        if buf.len() > 64 << 10 {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::Error::other("closed before the head ended"));
        }
        // A TLS ClientHello (record type 22): answer as Go's plain-HTTP server does, so that
        // clients trying HTTPS first fall back to HTTP.
        if buf.is_empty() && chunk[0] == 0x16 {
            conn.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")?;
            return Err(std::io::Error::other("a TLS handshake on plain HTTP"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn respond(conn: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn serve(
    mut conn: TcpStream,
    upstream: u16,
    signer: &Signer,
    counts: &[AtomicU64; 3],
    seq: &AtomicU64,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (head, early_body) = read_head(&mut conn)?;
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if let Some(query) = target.strip_prefix("/token") {
        // GET with Basic credentials (the distribution token spec), or POST with a form
        // (`grant_type=password&username=..&password=..`, the OAuth2 flow containerd tries first).
        let mut body = early_body.clone();
        if head.starts_with("POST ") {
            let mut chunk = [0u8; 4096];
            while body.len() < length.min(64 << 10) {
                let n = conn.read(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        let form = String::from_utf8_lossy(&body).into_owned();
        let field = |name: &str| {
            query
                .trim_start_matches('?')
                .split('&')
                .chain(form.split('&'))
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(percent_decode))
        };
        // `scope=repository:team/app:pull`
        let repository = field("scope").and_then(|s| {
            let mut parts = s.split(':');
            (parts.next() == Some("repository"))
                .then(|| parts.next())
                .flatten()
                .map(str::to_string)
        });
        let creds = header(&head, "authorization")
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
            .map(|raw| String::from_utf8_lossy(&raw).into_owned())
            .or_else(|| Some(format!("{}:{}", field("username")?, field("password")?)));
        let n = seq.fetch_add(1, Ordering::Relaxed);
        return match creds {
            Some(c) if c == format!("{USER}:{PASSWORD}") => {
                counts[0].fetch_add(1, Ordering::Relaxed);
                let t = signer.token(USER, repository.as_deref(), n);
                respond(
                    &mut conn,
                    "200 OK",
                    &serde_json::json!({"token": t, "access_token": t}).to_string(),
                )
            }
            Some(_) => {
                counts[1].fetch_add(1, Ordering::Relaxed);
                respond(
                    &mut conn,
                    "401 Unauthorized",
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid username or password"}]}"#,
                )
            }
            None => {
                counts[2].fetch_add(1, Ordering::Relaxed);
                let t = signer.token("", None, n);
                respond(
                    &mut conn,
                    "200 OK",
                    &serde_json::json!({"token": t, "access_token": t}).to_string(),
                )
            }
        };
    }
    // Everything else goes to the registry, one request per connection.
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    up.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut lines: Vec<&str> = head
        .lines()
        .filter(|l| {
            let k = l.split(':').next().unwrap_or("").trim();
            !k.eq_ignore_ascii_case("connection") && !k.eq_ignore_ascii_case("keep-alive")
        })
        .collect();
    lines.push("Connection: close");
    up.write_all(lines.join("\r\n").as_bytes())?;
    up.write_all(b"\r\n\r\n")?;
    up.write_all(&early_body)?;
    let mut rest = length.saturating_sub(early_body.len());
    let mut chunk = [0u8; 8192];
    while rest > 0 {
        let n = conn.read(&mut chunk[..rest.min(8192)])?;
        if n == 0 {
            break;
        }
        up.write_all(&chunk[..n])?;
        rest -= n;
    }
    std::io::copy(&mut up, &mut conn)?;
    Ok(())
}

/// `%XX` and `+` of a form or query value.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = (b[i] == b'%' && i + 2 < b.len())
            .then(|| std::str::from_utf8(&b[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (_, Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', None) => {
                out.push(b' ');
                i += 1;
            }
            (c, None) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
