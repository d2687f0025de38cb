//! The pulling clients: `skopeo` (containers/image, the library CRI-O pulls with) and `ctr`
//! against a containerd of the lab's own, each returning the error exactly as it printed it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::{Lab, Proc, net};

/// How a client is pointed at a registry.
#[derive(Default, Clone)]
pub struct Pull {
    pub creds: Option<(String, String)>,
    /// Trust the lab CA (skopeo: a cert dir with it; ctr: `ca` in hosts.toml).
    pub trust_lab_ca: bool,
    /// Speak HTTPS (the default) or, with `plain`, HTTP.
    pub plain: bool,
    /// A resolv.conf for the client's private mount namespace.
    pub resolv: Option<PathBuf>,
}

fn output_of(mut cmd: Command, budget: Duration) -> (bool, String) {
    let start = Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(start.elapsed() < budget, "{cmd:?} took {:?}", start.elapsed());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Undoes Go's `%q` quoting of a logrus field.
fn unquote_go(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(o) => out.push(o),
            None => {}
        }
    }
    out
}

/// The error skopeo printed: the `msg` of its `level=fatal` line.
pub fn skopeo_message(output: &str) -> Option<String> {
    let line = output.lines().find(|l| l.contains("level=fatal"))?;
    let start = line.find("msg=\"")? + 5;
    let body = line[start..].strip_suffix('"')?;
    Some(unquote_go(body))
}

/// `skopeo copy docker://IMAGE dir:...`: Err(message) when the pull fails.
pub fn skopeo(lab: &Lab, image: &str, pull: &Pull) -> Result<(), String> {
    let dest = tempfile::tempdir_in(lab.dir.path()).unwrap();
    let certs = lab.path("skopeo-certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(&lab.pki.ca, certs.join("ca.crt")).unwrap();
    let empty = lab.path("skopeo-empty-certs");
    std::fs::create_dir_all(&empty).unwrap();
    let auth = lab.path("skopeo-auth.json");
    std::fs::write(&auth, "{}").unwrap();
    let mut cmd = match &pull.resolv {
        Some(r) => net::with_resolv(r, "skopeo"),
        None => Command::new("skopeo"),
    };
    cmd.env("REGISTRY_AUTH_FILE", &auth).env("HOME", lab.dir.path()).args([
        "--command-timeout",
        "6s",
        "copy",
        "--quiet",
    ]);
    if pull.plain {
        cmd.arg("--src-tls-verify=false");
    } else {
        cmd.arg("--src-cert-dir")
            .arg(if pull.trust_lab_ca { &certs } else { &empty });
    }
    match &pull.creds {
        Some((u, p)) => cmd.arg("--src-creds").arg(format!("{u}:{p}")),
        None => cmd.arg("--src-no-creds"),
    };
    cmd.arg(format!("docker://{image}"))
        .arg(format!("dir:{}", dest.path().display()));
    let (ok, text) = output_of(cmd, Duration::from_secs(60));
    if ok {
        return Ok(());
    }
    Err(skopeo_message(&text).unwrap_or_else(|| panic!("no error line in skopeo's output:\n{text}")))
}

/// A containerd with its own root, state and socket under the lab dir (the CRI plugin off:
/// only the content store and images are needed for a pull).
pub struct Containerd {
    pub socket: PathBuf,
    _proc: Proc,
}

impl Containerd {
    pub fn start(lab: &Lab) -> Containerd {
        let dir = lab.path("containerd");
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("c.sock");
        let cfg = dir.join("config.toml");
        std::fs::write(
            &cfg,
            format!(
                "version = 2\nroot = \"{0}/root\"\nstate = \"{0}/state\"\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = \"{1}\"\n[ttrpc]\n  address = \"{1}.ttrpc\"\n[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n",
                dir.display(),
                socket.display()
            ),
        )
        .unwrap();
        let proc = Proc::spawn(
            "containerd",
            Command::new("containerd").arg("--config").arg(&cfg),
            dir.join("log"),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "containerd never listened:\n{}",
                proc.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Containerd { socket, _proc: proc }
    }

    /// `ctr images pull` with a hosts.toml for the image's registry, as a node configures
    /// `/etc/containerd/certs.d`: Err(message) when the pull fails.
    pub fn pull(&self, lab: &Lab, image: &str, pull: &Pull) -> Result<(), String> {
        let host = image.split('/').next().unwrap();
        let hosts = tempfile::tempdir_in(lab.dir.path()).unwrap();
        write_hosts_toml(hosts.path(), host, pull, &lab.pki.ca);
        let mut cmd = match &pull.resolv {
            Some(r) => net::with_resolv(r, "ctr"),
            None => Command::new("ctr"),
        };
        cmd.arg("--address")
            .arg(&self.socket)
            .args(["--timeout", "6s", "images", "pull", "--hosts-dir"])
            .arg(hosts.path());
        if let Some((u, p)) = &pull.creds {
            cmd.arg("--user").arg(format!("{u}:{p}"));
        }
        cmd.arg(image);
        let (ok, text) = output_of(cmd, Duration::from_secs(60));
        if ok {
            return Ok(());
        }
        let line = text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("ctr: "))
            .unwrap_or_else(|| panic!("no error line in ctr's output:\n{text}"));
        Err(line.to_string())
    }
}

/// `DIR/HOST/hosts.toml` naming the registry's scheme and, when trusted, the lab CA.
pub fn write_hosts_toml(dir: &Path, host: &str, pull: &Pull, ca: &Path) {
    let scheme = if pull.plain { "http" } else { "https" };
    let d = dir.join(host);
    std::fs::create_dir_all(&d).unwrap();
    // containerd tries the `[host]` entry, then the server again: both trust the CA, so the
    // error it reports is the registry's, whichever attempt it comes from.
    let mut t = format!("server = \"{scheme}://{host}\"\n");
    let ca_line = if pull.trust_lab_ca && !pull.plain {
        format!("ca = \"{}\"\n", ca.display())
    } else {
        String::new()
    };
    t += &ca_line;
    t += &format!("\n[host.\"{scheme}://{host}\"]\n  capabilities = [\"pull\", \"resolve\"]\n  {ca_line}");
    std::fs::write(d.join("hosts.toml"), t).unwrap();
}

/// The message as kubelet reports a CRI error (`rpc error: code = Unknown desc = ...`).
pub fn kubelet_wrap(image: &str, runtime_message: &str) -> String {
    format!("Failed to pull image \"{image}\": rpc error: code = Unknown desc = {runtime_message}")
}

/// containerd's CRI plugin wraps the resolver's error in `failed to pull and unpack image`.
pub fn containerd_cri(image: &str, ctr_message: &str) -> String {
    format!("failed to pull and unpack image \"{image}\": {ctr_message}")
}
