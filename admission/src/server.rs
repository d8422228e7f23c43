//! Listeners (edge): the webhook over rustls with HTTP/1.1 and HTTP/2, and the plain admin port.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

/// Serves `app` over TLS on `addr` until `handle` shuts it down. The certificate is whatever
/// the configuration's resolver returns at each handshake.
pub async fn serve_webhook(
    addr: SocketAddr,
    app: Router,
    config: rustls::ServerConfig,
    handle: Handle<SocketAddr>,
) -> io::Result<()> {
    let tls = RustlsConfig::from_config(Arc::new(config));
    axum_server::bind_rustls(addr, tls)
        .handle(handle)
        .serve(app.into_make_service())
        .await
}

/// Serves `app` in plain HTTP on `addr` until `handle` shuts it down.
pub async fn serve_plain(
    addr: SocketAddr,
    app: Router,
    handle: Handle<SocketAddr>,
) -> io::Result<()> {
    axum_server::bind(addr)
        .handle(handle)
        .serve(app.into_make_service())
        .await
}

/// Parses upstream's listen address form `:8944` (all interfaces) or `host:port`.
pub fn parse_listen_address(text: &str) -> Result<SocketAddr, String> {
    let full = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else {
        text.to_string()
    };
    full.parse()
        .map_err(|e| format!("invalid listen address {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_accept_go_form() {
        assert_eq!(
            parse_listen_address(":8944").unwrap(),
            "0.0.0.0:8944".parse().unwrap()
        );
        assert_eq!(
            parse_listen_address("127.0.0.1:1").unwrap(),
            "127.0.0.1:1".parse().unwrap()
        );
        assert!(parse_listen_address("nope").is_err());
    }
}
