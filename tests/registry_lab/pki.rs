//! The lab's CA and server certificates, made with the `openssl` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::run;

pub struct Cert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub struct Pki {
    /// The lab CA's certificate (PEM).
    pub ca: PathBuf,
    /// For 127.0.0.1, from the lab CA, valid now.
    pub good: Cert,
    /// For 127.0.0.1, from the lab CA, with a validity that ended before it began.
    pub expired: Cert,
    /// From the lab CA, valid now, for 127.0.0.2 and another name only.
    pub wrong_host: Cert,
}

const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

impl Pki {
    pub fn create(dir: &Path) -> Pki {
        let dir = dir.join("pki");
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        let ca_key = dir.join("ca.key");
        run(Command::new("openssl")
            .args(["req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=remedy lab CA"])
            .args(EC)
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca));
        let leaf = |name: &str, san: &str, days: &str| {
            let key = dir.join(format!("{name}.key"));
            let csr = dir.join(format!("{name}.csr"));
            let cert = dir.join(format!("{name}.pem"));
            let ext = dir.join(format!("{name}.ext"));
            std::fs::write(
                &ext,
                format!("subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"),
            )
            .unwrap();
            run(Command::new("openssl")
                .args(["req", "-new", "-nodes", "-subj", "/CN=lab registry"])
                .args(EC)
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr));
            run(Command::new("openssl")
                .args(["x509", "-req", "-CAcreateserial", "-days", days])
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(&ca)
                .arg("-CAkey")
                .arg(&ca_key)
                .arg("-extfile")
                .arg(&ext)
                .arg("-out")
                .arg(&cert));
            Cert { cert, key }
        };
        let good = leaf("good", "IP:127.0.0.1", "2");
        // A negative validity: notAfter lies a day before notBefore (now), so the certificate
        // is past its end for every client, without a clock to fake.
        let expired = leaf("expired", "IP:127.0.0.1", "-1");
        let wrong_host = leaf("wrong-host", "IP:127.0.0.2,DNS:registry.elsewhere.test", "2");
        Pki {
            ca,
            good,
            expired,
            wrong_host,
        }
    }
}
