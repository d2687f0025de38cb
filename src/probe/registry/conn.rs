//! One HTTP/1.1 request per connection, over TLS (rustls, verified against the system roots
//! and the cluster's CAs) or plain TCP, each with a timeout. Redirects are returned, never
//! followed. Every address connected to is recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::{Error, Options, Scheme, Tls};

/// Bodies read (tag lists, token answers) are small; anything larger is cut off.
const MAX_BODY: usize = 1 << 20;

#[derive(Debug)]
pub enum Failure {
    /// No connection: nothing listens, the name does not resolve, or it timed out.
    Unreachable,
    /// The TLS handshake failed on the server's certificate.
    Tls(Tls),
    /// The server answered the TLS handshake with something that is not TLS.
    NotTls,
    /// Connected, but no usable HTTP answer.
    Protocol,
}

pub struct Response {
    pub status: u16,
    headers: http::HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

pub struct Connector {
    tls: tokio_rustls::TlsConnector,
    timeout: Duration,
    contacted: Mutex<Vec<SocketAddr>>,
}

impl Connector {
    pub fn new(opts: &Options) -> Result<Self, Error> {
        let mut roots = rustls::RootCertStore::empty();
        if opts.system_roots {
            // Unreadable system roots only mean fewer trusted CAs, never an error.
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
        }
        for pem in &opts.extra_ca_pem {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| Error::BadCa(e.to_string()))?;
            if certs.is_empty() {
                return Err(Error::BadCa("no certificate in it".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| Error::BadCa(e.to_string()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Connector {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            timeout: opts.request_timeout,
            contacted: Mutex::new(Vec::new()),
        })
    }

    pub fn contacted(&self) -> Vec<SocketAddr> {
        self.contacted.lock().map(|c| c.clone()).unwrap_or_default()
    }

    async fn connect(&self, scheme: Scheme, host: &str) -> Result<Box<dyn Stream>, Failure> {
        let (name, port) = split_host(host, scheme);
        let addrs = tokio::time::timeout(self.timeout, tokio::net::lookup_host((name, port)))
            .await
            .map_err(|_| Failure::Unreachable)?
            .map_err(|_| Failure::Unreachable)?;
        let addr = addrs.into_iter().next().ok_or(Failure::Unreachable)?;
        if let Ok(mut c) = self.contacted.lock() {
            c.push(addr);
        }
        let tcp = tokio::time::timeout(self.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Failure::Unreachable)?
            .map_err(|_| Failure::Unreachable)?;
        if scheme == Scheme::Http {
            return Ok(Box::new(tcp));
        }
        let server = ServerName::try_from(name.to_string()).map_err(|_| Failure::Unreachable)?;
        match tokio::time::timeout(self.timeout, self.tls.connect(server, tcp)).await {
            Err(_) => Err(Failure::Unreachable),
            Ok(Ok(s)) => Ok(Box::new(s)),
            Ok(Err(e)) => Err(classify_tls(&e)),
        }
    }

    /// One request; `Err` when no HTTP answer came back. `accept_manifests` asks for every
    /// manifest type a runtime accepts.
    pub async fn request(
        &self,
        scheme: Scheme,
        host: &str,
        method: &str,
        path_and_query: &str,
        authorization: Option<&str>,
        accept_manifests: bool,
    ) -> Result<Response, Failure> {
        let stream = self.connect(scheme, host).await?;
        let exchange = async {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|_| Failure::Protocol)?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            let mut req = http::Request::builder()
                .method(method)
                .uri(path_and_query)
                .header(http::header::HOST, host)
                .header(http::header::USER_AGENT, concat!("remedy/", env!("CARGO_PKG_VERSION")));
            if accept_manifests {
                req = req.header(
                    http::header::ACCEPT,
                    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
                     application/vnd.docker.distribution.manifest.list.v2+json, \
                     application/vnd.docker.distribution.manifest.v2+json",
                );
            }
            if let Some(a) = authorization {
                req = req.header(http::header::AUTHORIZATION, a);
            }
            let req = req.body(Empty::<Bytes>::new()).map_err(|_| Failure::Protocol)?;
            let resp = sender.send_request(req).await.map_err(|_| Failure::Protocol)?;
            let status = resp.status().as_u16();
            let (parts, body) = resp.into_parts();
            let body = if method == "HEAD" {
                Bytes::new()
            } else {
                Limited::new(body, MAX_BODY)
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default()
            };
            Ok(Response {
                status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Failure::Protocol)?
    }
}

/// `host[:port]` into the name and port (443 for HTTPS, 80 for HTTP by default); IPv6
/// literals keep their brackets off.
pub fn split_host(host: &str, scheme: Scheme) -> (&str, u16) {
    let default = if scheme == Scheme::Https { 443 } else { 80 };
    if let Some(rest) = host.strip_prefix('[')
        && let Some((ip, tail)) = rest.split_once(']')
    {
        let port = tail.strip_prefix(':').and_then(|p| p.parse().ok()).unwrap_or(default);
        return (ip, port);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => (name, port.parse().unwrap_or(default)),
        _ => (host, default),
    }
}

fn classify_tls(e: &std::io::Error) -> Failure {
    use rustls::{CertificateError as C, Error as R};
    let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<R>()) else {
        return Failure::Protocol;
    };
    match inner {
        R::InvalidCertificate(c) => Failure::Tls(match c {
            C::Expired | C::ExpiredContext { .. } => Tls::Expired,
            C::NotValidForName | C::NotValidForNameContext { .. } => Tls::WrongHost,
            _ => Tls::UnknownCa,
        }),
        // A plain-HTTP server answers the ClientHello with `HTTP/1.1 400 ...`: not a TLS record.
        R::InvalidMessage(_) => Failure::NotTls,
        _ => Failure::Protocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_split_into_name_and_port() {
        assert_eq!(split_host("127.0.0.1:5000", Scheme::Https), ("127.0.0.1", 5000));
        assert_eq!(split_host("quay.io", Scheme::Https), ("quay.io", 443));
        assert_eq!(split_host("quay.io", Scheme::Http), ("quay.io", 80));
        assert_eq!(split_host("[::1]:5000", Scheme::Https), ("::1", 5000));
        assert_eq!(split_host("[::1]", Scheme::Https), ("::1", 443));
    }
}
