//! A registry lab on loopback: real registries (distribution v2, Debian's `docker-registry`),
//! a CA and certificates made with the `openssl` CLI, images pushed with `skopeo` from an OCI
//! layout written here, a containerd of its own, and the clients (`skopeo`, `ctr`) driven
//! against them. Every process runs in its own process group and is killed when its guard
//! drops, also when a test panics.
#![allow(dead_code)]

pub mod clients;
pub mod net;
pub mod pki;
pub mod token;

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "lab-robot";
/// The lab registry's password: tests check it never appears in any output.
pub const PASSWORD: &str = "PLANTED-SECRET-lab-4kQz";
pub const REPO: &str = "team/app";
pub const TAGS: &[&str] = &["1.0", "1.1", "2.0"];

/// The binaries the lab needs. Missing ones skip the lab with the reason printed, except
/// under CI (where `.ci/run` installs them), where a missing binary fails the test.
pub fn require(bins: &[&str]) -> bool {
    let missing: Vec<&str> = bins.iter().copied().filter(|b| which(b).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!(
        "registry lab skipped: {} not installed (.ci/run installs them)",
        missing.join(", ")
    );
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("{msg}");
    false
}

pub fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(bin))
        .find(|p| p.is_file())
}

/// A child process in its own group; dropping the guard kills the whole group.
pub struct Proc {
    child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            name: name.to_string(),
            log,
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // The child leads its own group (process_group(0)), so its pid is the group's id.
        // Only a real group id is signalled: never 0 (our own group) or 1 (everything).
        if let Ok(pgid) = libc::pid_t::try_from(self.child.id())
            && pgid > 1
            && self.child.try_wait().ok().flatten().is_none()
        {
            // SAFETY: killpg only sends a signal; no memory is shared.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_for_port(port: u16, proc: &Proc) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never listened on {port}:\n{}", proc.name, proc.log_text());
}

/// The finding of `rule` about a pod in namespace `ns` of a JSON plan.
pub fn finding(plan: &serde_json::Value, rule: &str, ns: &str) -> serde_json::Value {
    plan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["subjects"].as_array().unwrap().iter().any(|s| s["namespace"] == ns))
        .unwrap_or_else(|| panic!("no {rule} finding in {ns}: {:#}", plan["findings"]))
        .clone()
}

pub fn run(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Plain,
    /// TLS with a certificate from the lab CA for 127.0.0.1.
    Tls,
    Expired,
    WrongHost,
    /// TLS from the lab CA, with htpasswd basic auth.
    Basic,
    /// Plain HTTP, token auth: a token endpoint on the same address ([`token::Front`]).
    Token,
}

pub struct Registry {
    pub kind: Kind,
    /// Where clients connect (for [`Kind::Token`], the token endpoint in front of it).
    pub port: u16,
    pub front: Option<token::Front>,
    _proc: Proc,
}

impl Registry {
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    pub fn scheme(&self) -> &'static str {
        if matches!(self.kind, Kind::Plain | Kind::Token) {
            "http"
        } else {
            "https"
        }
    }
    pub fn image(&self, repo: &str, tag: &str) -> String {
        format!("{}/{repo}:{tag}", self.host())
    }
}

/// The lab: a temp dir, a CA, one registry of each kind over one shared storage, with
/// `team/app` pushed at every tag of [`TAGS`].
pub struct Lab {
    pub dir: tempfile::TempDir,
    pub pki: pki::Pki,
    pub registries: Vec<Registry>,
}

impl Lab {
    pub fn start() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let pki = pki::Pki::create(dir.path());
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let htpasswd = dir.path().join("htpasswd");
        let out = run(Command::new("htpasswd").args(["-Bbn", USER, PASSWORD]));
        std::fs::write(&htpasswd, out.stdout).unwrap();
        let mut lab = Lab {
            dir,
            pki,
            registries: Vec::new(),
        };
        let signer = token::Signer::create(&lab.pki_dir());
        for kind in [
            Kind::Plain,
            Kind::Tls,
            Kind::Expired,
            Kind::WrongHost,
            Kind::Basic,
            Kind::Token,
        ] {
            let r = lab.start_registry(kind, &storage, &htpasswd, &signer);
            lab.registries.push(r);
        }
        let layout = lab.dir.path().join("oci");
        write_oci_layout(&layout, TAGS);
        let plain = lab.registry(Kind::Plain).host();
        for tag in TAGS {
            run(Command::new("skopeo").args([
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
                &format!("oci:{}:{tag}", layout.display()),
                &format!("docker://{plain}/{REPO}:{tag}"),
            ]));
        }
        lab
    }

    pub fn registry(&self, kind: Kind) -> &Registry {
        self.registries.iter().find(|r| r.kind == kind).unwrap()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pki_dir(&self) -> PathBuf {
        self.path("pki")
    }

    fn start_registry(&self, kind: Kind, storage: &Path, htpasswd: &Path, signer: &token::Signer) -> Registry {
        let port = free_port();
        let name = format!("registry-{kind:?}").to_lowercase();
        let tls = match kind {
            Kind::Plain | Kind::Token => None,
            Kind::Tls | Kind::Basic => Some(&self.pki.good),
            Kind::Expired => Some(&self.pki.expired),
            Kind::WrongHost => Some(&self.pki.wrong_host),
        };
        let mut cfg = format!(
            "version: 0.1\nlog: {{level: error, accesslog: {{disabled: true}}}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\n  delete: {{enabled: true}}\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: lab-http-secret\n",
            storage.display()
        );
        if let Some(c) = tls {
            cfg += &format!(
                "  tls: {{certificate: {}, key: {}}}\n",
                c.cert.display(),
                c.key.display()
            );
        }
        if kind == Kind::Basic {
            cfg += &format!("auth:\n  htpasswd: {{realm: lab, path: {}}}\n", htpasswd.display());
        }
        // The token endpoint's address is bound before the registry starts: its realm names it.
        let front_listener = (kind == Kind::Token).then(|| TcpListener::bind("127.0.0.1:0").unwrap());
        if let Some(l) = &front_listener {
            cfg += &token::auth_config(l.local_addr().unwrap().port(), signer);
        }
        let path = self.path(&format!("{name}.yml"));
        std::fs::write(&path, cfg).unwrap();
        let proc = Proc::spawn(
            &name,
            Command::new("docker-registry").arg("serve").arg(&path),
            self.path(&format!("{name}.log")),
        );
        wait_for_port(port, &proc);
        let front = front_listener.map(|l| token::Front::start(l, port, signer.clone()));
        Registry {
            kind,
            port: front.as_ref().map_or(port, |f| f.port),
            front,
            _proc: proc,
        }
    }
}

fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

/// Writes `bytes` as a blob of the layout; returns its digest and size.
fn blob(layout: &Path, bytes: &[u8]) -> (String, usize) {
    let tmp = layout.join("tmp-blob");
    std::fs::write(&tmp, bytes).unwrap();
    let digest = sha256(&tmp);
    std::fs::rename(&tmp, layout.join("blobs/sha256").join(&digest)).unwrap();
    (format!("sha256:{digest}"), bytes.len())
}

/// A one-layer linux/amd64 image per tag, as an OCI image layout.
pub fn write_oci_layout(layout: &Path, tags: &[&str]) {
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut manifests = Vec::new();
    for tag in tags {
        let mut tar_bytes = Vec::new();
        {
            let mut b = tar::Builder::new(&mut tar_bytes);
            let body = format!("lab image {tag}\n");
            let mut h = tar::Header::new_gnu();
            h.set_size(body.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, "hello.txt", body.as_bytes()).unwrap();
            b.finish().unwrap();
        }
        let diff_tmp = layout.join("tmp-diff");
        std::fs::write(&diff_tmp, &tar_bytes).unwrap();
        let diff_id = sha256(&diff_tmp);
        std::fs::remove_file(&diff_tmp).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &tar_bytes).unwrap();
        let (layer, layer_size) = blob(layout, &gz.finish().unwrap());
        let config = serde_json::json!({"architecture":"amd64","os":"linux",
            "rootfs":{"type":"layers","diff_ids":[format!("sha256:{diff_id}")]},"config":{}});
        let (cfg, cfg_size) = blob(layout, config.to_string().as_bytes());
        let manifest = serde_json::json!({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":cfg,"size":cfg_size},
            "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":layer,"size":layer_size}]});
        let (m, m_size) = blob(layout, manifest.to_string().as_bytes());
        manifests.push(
            serde_json::json!({"mediaType":"application/vnd.oci.image.manifest.v1+json",
            "digest":m,"size":m_size,"annotations":{"org.opencontainers.image.ref.name":tag}}),
        );
    }
    let index = serde_json::json!({"schemaVersion":2,"manifests":manifests});
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
}
