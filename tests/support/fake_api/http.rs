//! The test API over HTTP on 127.0.0.1 (a free port), with a kubeconfig that points at it,
//! so the real `remedy` binary runs against it with `--kubeconfig`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use super::{Answer, Builder, FakeApi};

/// Why a connection is dropped unanswered (a concrete type: hyper cannot infer a boxed one here).
#[derive(Debug)]
struct Dropped(String);

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Dropped {}

/// Serve `api` on 127.0.0.1 from the current runtime; returns the address.
pub async fn listen(api: FakeApi) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binding 127.0.0.1");
    let addr = listener.local_addr().expect("a local address");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let api = api.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: ::http::Request<Incoming>| {
                    let api = api.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body: Bytes = match body.collect().await {
                            Ok(c) => c.to_bytes(),
                            Err(e) => return Err(Dropped(e.to_string())),
                        };
                        match api.handle(&parts, body).await {
                            Answer::Response(r) => Ok(r.map(Full::new)),
                            // An error from the service makes hyper drop the connection unanswered.
                            Answer::Close => Err(Dropped("closed by a fault".into())),
                        }
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// A kubeconfig for a server at `url`, with one context (`context`) and a bearer token.
pub fn kubeconfig_text(url: &str, context: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}-cluster\n  cluster:\n    server: {url}\n\
contexts:\n- name: {context}\n  context:\n    cluster: {context}-cluster\n    user: {context}-user\n    namespace: default\n\
current-context: {context}\nusers:\n- name: {context}-user\n  user:\n    token: {token}\n"
    )
}

/// The test API on its own runtime, for tests that run the binary (synchronous tests).
pub struct HttpFront {
    pub api: FakeApi,
    pub addr: SocketAddr,
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

/// The token the generated kubeconfig carries.
pub const TOKEN: &str = "test-token";
/// The context name of the generated kubeconfig.
pub const CONTEXT: &str = "fake";

impl HttpFront {
    pub fn start(builder: Builder) -> HttpFront {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let api = runtime.block_on(builder.build());
        let addr = runtime.block_on(listen(api.clone()));
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(&format!("http://{addr}"), CONTEXT, TOKEN))
            .expect("writing the kubeconfig");
        HttpFront {
            api,
            addr,
            runtime,
            dir,
            kubeconfig,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The generated kubeconfig (context `fake`, token `test-token`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Write another kubeconfig for this server (other context name or token) in the front's
    /// temporary directory.
    pub fn write_kubeconfig(&self, file: &str, context: &str, token: &str) -> PathBuf {
        let p = self.dir.path().join(file);
        std::fs::write(&p, kubeconfig_text(&self.url(), context, token)).expect("writing a kubeconfig");
        p
    }

    /// A directory that lives as long as the front (for snapshots, outputs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Run a future on the front's runtime (store access from a synchronous test).
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}
