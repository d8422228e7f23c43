//! Slow clients after the TLS handshake (slow loris on the HTTP layer): connections that send a
//! request line and then one header byte at a time, or nothing at all, must not hold the webhook
//! forever nor starve a real client. The limit is the webhook's header-read timeout
//! (`HEADER_READ_TIMEOUT`, 100 s, above kube-apiserver's 90 s idle timeout; 5 s here, so the test
//! takes seconds), for a request whose headers arrive a byte at a time as for one whose headers
//! stop; measured with many concurrent slow clients.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use vpa_admission_controller::certs::TlsOptions;

/// Concurrent slow clients.
const SLOW: usize = 100;
/// The header-read timeout of the server under test.
const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a slow connection may stay open: the header-read timeout with slack for a loaded
/// machine.
const CLOSED_WITHIN: Duration = Duration::from_secs(15);

/// A TLS connector trusting the bundle's CA.
fn connector(ca_pem: &str) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_neither_starve_a_real_client_nor_stay_open() {
    let b = bundle();
    let (addr, _, handle) = start_with(&b, TlsOptions::default(), HEADER_TIMEOUT).await;
    let tls = connector(&b.ca_bundle());
    let started = Instant::now();
    // Each slow client: handshake, a request line, then one header byte a second (odd ones), or
    // nothing more (even ones); returns how long until the server closed the connection.
    let mut slow = Vec::new();
    for i in 0..SLOW {
        let tls = tls.clone();
        slow.push(tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let mut s = tls.connect(name, tcp).await.unwrap();
            s.write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\n")
                .await
                .unwrap();
            let opened = Instant::now();
            let header =
                b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
            let mut buf = [0u8; 256];
            for byte in header.iter().cycle() {
                if opened.elapsed() > CLOSED_WITHIN + Duration::from_secs(5) {
                    return None;
                }
                if i % 2 == 1 && s.write_all(&[*byte]).await.is_err() {
                    return Some(opened.elapsed());
                }
                // A read that ends (or fails) means the server closed the connection.
                match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(opened.elapsed()),
                    Ok(Ok(_)) => {} // an error response (408) before the close
                    Err(_) => {}
                }
            }
            None
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // A real client beside them.
    let client = tls_client(&[&b.ca_bundle()], false);
    let asked = Instant::now();
    let answer = client
        .post(format!("https://localhost:{}/", addr.port()))
        .header("Content-Type", "application/json")
        .body(POD_CREATE)
        .send()
        .await
        .unwrap();
    let served_in = asked.elapsed();
    assert!(answer.status().is_success(), "{}", answer.status());
    let mut closed = Vec::new();
    let mut open = 0;
    for task in slow {
        match task.await.unwrap() {
            Some(after) => closed.push(after),
            None => open += 1,
        }
    }
    closed.sort();
    let median = closed.get(closed.len() / 2).copied().unwrap_or_default();
    let longest = closed.last().copied().unwrap_or_default();
    eprintln!(
        "real client served in {served_in:?} beside {SLOW} slow clients; closed by the server: {} \
         (median after {median:?}, longest {longest:?}); still open after {CLOSED_WITHIN:?}: {open}; \
         whole run {:?}",
        closed.len(),
        started.elapsed()
    );
    assert!(
        served_in < Duration::from_secs(2),
        "with {SLOW} slow clients a real client waited {served_in:?}"
    );
    assert_eq!(open, 0, "every slow connection is closed by the server");
    assert!(
        longest <= CLOSED_WITHIN,
        "the slowest was closed after {longest:?}"
    );
    handle.shutdown();
}
