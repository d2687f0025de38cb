//! Finding the cluster as kubectl does: `--kubeconfig FILE` (that file only), else the files
//! of `KUBECONFIG` merged (first wins), else `~/.kube/config`, else the in-cluster service
//! account; `--context` picks a context of the kubeconfig.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::super::ClusterError;

/// How to reach the cluster.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Each request's limit (connecting, sending, reading the answer).
    pub request_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            kubeconfig: None,
            context: None,
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// Which cluster a client talks to, for the plan's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The kubeconfig context, or `in-cluster`.
    pub context: String,
    /// The API server's URL.
    pub server: String,
}

fn config_error(msg: impl Into<String>) -> ClusterError {
    ClusterError::Config(msg.into())
}

/// A client for the cluster the options name.
pub async fn connect(opts: &ConnectOptions) -> Result<(kube::Client, Endpoint), ClusterError> {
    // Other crates in the build may enable a second TLS crypto provider; then rustls cannot
    // choose one by itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc_opts = KubeConfigOptions {
        context: opts.context.clone(),
        ..KubeConfigOptions::default()
    };
    let (mut config, context) = match kubeconfig(opts)? {
        Some((kc, origin)) => {
            let context = opts
                .context
                .clone()
                .or_else(|| kc.current_context.clone())
                .ok_or_else(|| config_error(format!("{origin} names no current context: give --context")))?;
            if !kc.contexts.iter().any(|c| c.name == context) {
                let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
                return Err(config_error(format!(
                    "context `{context}` is not in {origin} (it has: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
            let config = kube::Config::from_custom_kubeconfig(kc, &kc_opts)
                .await
                .map_err(|e| config_error(format!("{origin}: {}", one_line(&e))))?;
            (config, context)
        }
        None => {
            if opts.context.is_some() {
                return Err(config_error("--context needs a kubeconfig, and none was found"));
            }
            let config = kube::Config::incluster().map_err(|e| {
                config_error(format!(
                    "no kubeconfig (--kubeconfig, KUBECONFIG, ~/.kube/config) and not running in a cluster: {}",
                    one_line(&e)
                ))
            })?;
            (config, "in-cluster".to_string())
        }
    };
    config.connect_timeout = Some(opts.request_timeout);
    config.read_timeout = Some(opts.request_timeout);
    config.write_timeout = Some(opts.request_timeout);
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let client =
        kube::Client::try_from(config).map_err(|e| config_error(format!("context `{context}`: {}", one_line(&e))))?;
    Ok((client, Endpoint { context, server }))
}

/// The kubeconfig kubectl would use, and where it came from; `None` when there is none.
fn kubeconfig(opts: &ConnectOptions) -> Result<Option<(Kubeconfig, String)>, ClusterError> {
    if let Some(path) = &opts.kubeconfig {
        let kc = Kubeconfig::read_from(path)
            .map_err(|e| config_error(format!("--kubeconfig {}: {}", path.display(), one_line(&e))))?;
        return Ok(Some((kc, path.display().to_string())));
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let mut merged: Option<Kubeconfig> = None;
        for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            // kubectl skips files of the list that do not exist.
            if !path.exists() {
                continue;
            }
            let kc = Kubeconfig::read_from(&path)
                .map_err(|e| config_error(format!("KUBECONFIG file {}: {}", path.display(), one_line(&e))))?;
            merged = Some(match merged {
                None => kc,
                Some(m) => m
                    .merge(kc)
                    .map_err(|e| config_error(format!("merging KUBECONFIG files: {}", one_line(&e))))?,
            });
        }
        return match merged {
            Some(kc) => Ok(Some((kc, "the KUBECONFIG files".to_string()))),
            None => Err(config_error("none of the KUBECONFIG files exists")),
        };
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match home.map(|h| h.join(".kube").join("config")).filter(|p| p.exists()) {
        Some(path) => {
            let kc = Kubeconfig::read_from(&path)
                .map_err(|e| config_error(format!("{}: {}", path.display(), one_line(&e))))?;
            Ok(Some((kc, path.display().to_string())))
        }
        None => Ok(None),
    }
}

/// An error and its causes on one line.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let s = cause.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = cause.source();
    }
    out.replace('\n', " ")
}
