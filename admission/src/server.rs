//! The webhook's listener (edge): rustls with HTTP/1.1 and HTTP/2. The plain admin port is
//! `vpa_common::admin`'s.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

/// The longest a client may take to send a request's headers over HTTP/1.1, counted from the
/// connection's start or the previous response (hyper's timer also runs while a kept-alive
/// connection waits for its next request). Without a limit (axum-server turns hyper's off) a
/// client that sends a request line and then a byte at a time, or nothing, holds its connection
/// forever, and enough of them exhaust the process's file descriptors. Longer than the idle
/// timeout of kube-apiserver's webhook client (Go's `IdleConnTimeout`, 90 s), so that an idle
/// connection is always closed by the API server first: a server-side close racing a new POST
/// would fail that admission call, as Go does not retry a POST it has written.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(100);

/// Serves `app` over TLS on `addr` until `handle` shuts it down, with [`HEADER_READ_TIMEOUT`].
/// The certificate is whatever the configuration's resolver returns at each handshake.
pub async fn serve_webhook(
    addr: SocketAddr,
    app: Router,
    config: rustls::ServerConfig,
    handle: Handle<SocketAddr>,
) -> io::Result<()> {
    serve_webhook_with(addr, app, config, handle, HEADER_READ_TIMEOUT).await
}

/// [`serve_webhook`] with another header-read timeout (tests use seconds).
pub async fn serve_webhook_with(
    addr: SocketAddr,
    app: Router,
    config: rustls::ServerConfig,
    handle: Handle<SocketAddr>,
    header_read_timeout: Duration,
) -> io::Result<()> {
    let tls = RustlsConfig::from_config(Arc::new(config));
    let mut server = axum_server::bind_rustls(addr, tls);
    server
        .http_builder()
        .http1()
        .header_read_timeout(header_read_timeout);
    server.handle(handle).serve(app.into_make_service()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_connections_are_closed_by_the_api_server_before_the_header_timeout() {
        // kube-apiserver's webhook transport closes idle connections after 90 s.
        assert!(HEADER_READ_TIMEOUT > Duration::from_secs(90));
    }
}
