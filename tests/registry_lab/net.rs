//! Loopback stand-ins for the network's failures: a registry that accepts connections and
//! never answers, and a DNS server (on an address of 127/8 of its own) that answers
//! NXDOMAIN or nothing. Clients see the DNS server through a private mount namespace whose
//! `/etc/resolv.conf` names it, so no lookup leaves the machine.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Accepts TCP connections on 127.0.0.1 and holds them open without a byte.
pub struct Stall {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Stall {
    pub fn start() -> Stall {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((c, _)) => held.push(c),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Stall {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Stall {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum DnsMode {
    NxDomain,
    Silent,
}

/// A DNS server on `127.0.53.x:53` and a resolv.conf naming it.
pub struct Dns {
    pub resolv_conf: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Dns {
    pub fn start(dir: &Path, mode: DnsMode) -> Dns {
        // Port 53 is fixed by resolv.conf; a random address of 127/8 keeps parallel labs apart.
        let (sock, addr) = (0..50)
            .find_map(|i| {
                let addr = format!("127.0.53.{}", 2 + (std::process::id() as usize + i) % 250);
                UdpSocket::bind((addr.as_str(), 53)).ok().map(|s| (s, addr))
            })
            .expect("no free 127.0.53.x:53");
        sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let resolv_conf = dir.join(format!("resolv-{addr}.conf"));
        std::fs::write(
            &resolv_conf,
            format!("nameserver {addr}\noptions timeout:1 attempts:1\n"),
        )
        .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if mode == DnsMode::Silent || n < 12 {
                    continue;
                }
                // The query with the header turned into an answer: QR, RD and RA set,
                // RCODE 3 (NXDOMAIN), no answer records; the question stays.
                let mut reply = buf[..n].to_vec();
                reply[2] = 0x80 | (buf[2] & 0x01);
                reply[3] = 0x83;
                reply[6..12].fill(0);
                let _ = sock.send_to(&reply, from);
            }
        });
        Dns {
            resolv_conf,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether this machine lets us give a client a private `/etc/resolv.conf`.
pub fn private_resolv_supported() -> bool {
    super::which("unshare").is_some()
        && std::process::Command::new("unshare")
            .args(["-m", "true"])
            .status()
            .is_ok_and(|s| s.success())
}

/// `cmd args...` run with `resolv` bind-mounted over `/etc/resolv.conf`, in a mount
/// namespace of its own.
pub fn with_resolv(resolv: &Path, program: &str) -> std::process::Command {
    let mut c = std::process::Command::new("unshare");
    c.args(["-m", "sh", "-c", "mount --bind \"$0\" /etc/resolv.conf && exec \"$@\""])
        .arg(resolv)
        .arg(program);
    c
}
