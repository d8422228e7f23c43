//! Wiring (edge): certificates, caches, listeners, registration, Lease and the refresh loops,
//! until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum_server::Handle;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use tracing::{info, warn};

use crate::apiserver::{load_or_rotate_secret, register_webhook, registered_ca_bundle};
use crate::cache::ReflectorView;
use crate::certs::{CertStore, Published, server_config};
use crate::config::{Args, CertSource, Config};
use crate::handler::{AppState, admin_router, router};
use crate::metrics::Metrics;
use crate::registration::Registration;
use crate::server::serve_webhook;
use crate::view::ClusterView;
use vpa_common::status_lease::{self, DURATION_SECONDS};

/// First delay of [`retry_until_done`], doubled after each failure up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(1);
/// Longest delay of [`retry_until_done`].
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Runs `attempt` until it succeeds, logging each failure as `what` and waiting 1 s, 2 s, 4 s
/// ... (at most 30 s) in between.
async fn retry_until_done<
    T,
    E: std::fmt::Display,
    F: std::future::Future<Output = Result<T, E>>,
>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> T {
    let mut delay = RETRY_FIRST;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) => warn!(error = %e, retry_in = ?delay, "{what} failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RETRY_MAX);
    }
}

/// Reads the certificate files: (chain, key, CA bundle).
async fn read_files(cert: &str, key: &str, ca: &str) -> anyhow::Result<(String, String, String)> {
    let read = |p: String| async move {
        tokio::fs::read_to_string(&p)
            .await
            .with_context(|| format!("reading {p}"))
    };
    Ok((
        read(cert.into()).await?,
        read(key.into()).await?,
        read(ca.into()).await?,
    ))
}

/// Loads the current certificates into `store` (renewing those in the Secret when due) and
/// returns whether the webhook must be registered again: we register it and its `caBundle`
/// differs from the bundle now served (the CA bundle changed, or someone registered another).
async fn refresh_certs(
    config: &Config,
    store: &CertStore,
    secrets: &Api<Secret>,
    webhooks: &Api<MutatingWebhookConfiguration>,
) -> anyhow::Result<bool> {
    // What kube-apiserver trusts now, when we are the ones registering: a staged CA only signs
    // once it has been registered long enough.
    let registered = match &config.registration {
        Some(_) => Some(
            registered_ca_bundle(webhooks)
                .await
                .context("reading the webhook registration")?,
        ),
        None => None,
    };
    let served_bundle = match &config.certs {
        CertSource::Secret(name) => {
            let now = time::OffsetDateTime::now_utc();
            let published = registered
                .as_deref()
                .map_or(Published::Untracked, Published::Bundle);
            let bundle = load_or_rotate_secret(
                secrets,
                name,
                &config.dns_names,
                config.cert_validity,
                now,
                published,
            )
            .await?;
            let ca_bundle = bundle.ca_bundle();
            store.install(&bundle.server_cert_pem, &bundle.server_key_pem, &ca_bundle)?;
            ca_bundle
        }
        CertSource::Files { cert, key, ca, .. } => {
            let (cert, key, ca) = read_files(cert, key, ca).await?;
            store.install(&cert, &key, &ca)?;
            ca
        }
    };
    Ok(registered.is_some_and(|r| r != served_bundle))
}

async fn register_until_done(
    api: &Api<MutatingWebhookConfiguration>,
    reg: &Registration,
    store: &CertStore,
) {
    retry_until_done("Webhook registration", || {
        let bundle = store.ca_bundle().unwrap_or_default();
        async move { register_webhook(api, reg, &bundle).await }
    })
    .await;
    info!(
        name = crate::registration::WEBHOOK_CONFIG_NAME,
        "Registered webhook"
    );
}

/// Runs the admission controller from its flags until SIGTERM or Ctrl-C: logging as the klog
/// flags ask, the mounted certificate files when both exist (else the Secret), then [`run`].
pub async fn run_from_flags(args: Args) -> anyhow::Result<()> {
    args.common.init_logging();
    let files = std::path::Path::new(&args.tls_cert_file).exists()
        && std::path::Path::new(&args.tls_private_key).exists();
    let config = args.into_config(files).map_err(anyhow::Error::msg)?;
    if let CertSource::Files { cert, .. } = &config.certs {
        info!(%cert, "Using mounted certificate files");
    }
    run(config).await
}

/// Runs the admission controller until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    run_until(config, vpa_common::shutdown::termination()).await
}

/// Runs the admission controller until `shutdown` completes, then stops serving (tests stop it
/// this way to play a killed webhook).
pub async fn run_until(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let client = vpa_common::client::connect(&config.kubeconfig, config.throttle).await?;
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(CertStore::new());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &config.namespace);
    let webhooks: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    match &config.certs {
        // The API server may be briefly unavailable at start (the client does not retry 429 or
        // 503 by itself): keep trying, unready, rather than exit.
        CertSource::Secret(name) => {
            let what = format!("Loading the certificate Secret {}/{name}", config.namespace);
            retry_until_done(&what, || {
                refresh_certs(&config, &store, &secrets, &webhooks)
            })
            .await;
        }
        // Missing or broken mounted files are a deployment error: fail at once.
        CertSource::Files { .. } => {
            refresh_certs(&config, &store, &secrets, &webhooks)
                .await
                .context("loading certificates")?;
        }
    }
    info!(source = ?config.certs, "Certificates loaded");

    let view = ReflectorView::start(&client, config.watch_namespace.as_deref());
    let state = AppState {
        view: Arc::new(view.clone()),
        metrics: metrics.clone(),
        gates: config.gates,
        max_allowed_cpu_boost: config.max_allowed_cpu_boost,
        body_timeout: config.body_timeout,
    };
    let tls = server_config(store.clone(), &config.tls)?;
    let webhook: Handle<SocketAddr> = Handle::new();
    let ready = {
        let (view, store) = (view.clone(), store.clone());
        Arc::new(move || view.is_synced() && store.is_loaded())
    };
    let webhook_task = tokio::spawn(serve_webhook(
        config.webhook_addr,
        router(state),
        tls,
        webhook.clone(),
    ));
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin_task = vpa_common::admin::serve(
        config.admin_addr,
        admin_router(metrics, ready),
        async move {
            let _ = admin_stopped.await;
        },
    )
    .await?;
    info!(webhook = %config.webhook_addr, admin = %config.admin_addr, "Serving");

    let mut background = tokio::task::JoinSet::new();
    if let Some(reg) = config.registration.clone() {
        let (api, store, handle) = (webhooks.clone(), store.clone(), webhook.clone());
        background.spawn(async move {
            handle.listening().await;
            register_until_done(&api, &reg, &store).await;
        });
        let leases: Api<Lease> = Api::namespaced(client.clone(), &config.lease.1);
        let (name, interval) = (config.lease.0.clone(), config.lease_interval);
        let holder =
            std::env::var("HOSTNAME").unwrap_or_else(|_| "vpa-admission-controller".into());
        background.spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let renewed = status_lease::renew(&leases, &name, &holder, DURATION_SECONDS);
                if let Err(e) = renewed.await {
                    warn!(lease = %name, error = %e, "Status lease renewal failed");
                }
            }
        });
    }

    let refresh_every = match &config.certs {
        CertSource::Secret(_) => Some(config.cert_refresh),
        CertSource::Files { reload: true, .. } => Some(config.cert_file_poll),
        CertSource::Files { .. } => None,
    };
    if let Some(every) = refresh_every {
        let (config, store) = (config.clone(), store.clone());
        background.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                match refresh_certs(&config, &store, &secrets, &webhooks).await {
                    Ok(true) => {
                        info!("Registered caBundle differs from the served one; updating the webhook registration");
                        if let Some(reg) = &config.registration {
                            register_until_done(&webhooks, reg, &store).await;
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        warn!(error = %e, "Certificate refresh failed; keeping the current certificate")
                    }
                }
            }
        });
    }

    tokio::select! {
        _ = shutdown => info!("Shutting down"),
        r = webhook_task => r?.context("webhook server")?,
        r = admin_task => r?.context("admin server")?,
    }
    webhook.graceful_shutdown(Some(Duration::from_secs(10)));
    let _ = stop_admin.send(());
    background.abort_all();
    Ok(())
}
