//! Calls admission webhooks like kube-apiserver (edge): an [`AdmissionHook`] that, on every
//! create and update, runs the matching MutatingWebhookConfigurations in order, then the
//! ValidatingWebhookConfigurations, over HTTPS trusting only each webhook's `caBundle`. A webhook
//! matched through an equivalent version (`matchPolicy: Equivalent`) sees the object in that
//! version and its patch is applied there.
//!
//! Webhook `warnings` reach the client as `Warning` headers.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde_json::Value;

use super::webhooks::{self, Endpoint, Verdict};
use crate::api::Shared;
use crate::cluster::network::service_proxy::ServiceProxy;
use crate::error::{ApiError, ApiResult};
use crate::hooks::{AdmissionHook, AdmissionRequest};
use crate::resource::GroupResource;

const GROUP: &str = "admissionregistration.k8s.io";

/// The webhook caller: webhook Services are reached through a [`ServiceProxy`].
pub struct WebhookDispatcher {
    shared: Arc<Shared>,
    proxy: Arc<ServiceProxy>,
}

/// One webhook to call, snapshotted from its configuration.
struct Planned {
    name: String,
    /// The version the webhook is called with (an equivalent one under `matchPolicy`).
    version: String,
    mutating: bool,
    endpoint: Result<Endpoint, String>,
}

impl WebhookDispatcher {
    /// A dispatcher over the configurations stored in `shared`, reaching Services via `proxy`.
    pub fn new(shared: Arc<Shared>, proxy: Arc<ServiceProxy>) -> Self {
        WebhookDispatcher { shared, proxy }
    }

    fn plan(&self, req: &AdmissionRequest) -> ApiResult<Vec<Planned>> {
        let store = &self.shared.store;
        let ns_labels = (!req.namespace.is_empty())
            .then(|| store.get(&GroupResource::new("", "namespaces"), "", &req.namespace))
            .flatten()
            .and_then(|n| n.value.pointer("/metadata/labels").cloned());
        let mut planned = Vec::new();
        for (resource, mutating) in [
            ("mutatingwebhookconfigurations", true),
            ("validatingwebhookconfigurations", false),
        ] {
            let configs = store
                .list(&GroupResource::new(GROUP, resource), None, None, 0, |_| {
                    true
                })
                .items;
            for config in configs {
                for hook in config.value["webhooks"].as_array().into_iter().flatten() {
                    let Some(version) = webhooks::webhook_invocation(
                        hook,
                        req,
                        !req.namespace.is_empty(),
                        ns_labels.as_ref(),
                    ) else {
                        continue;
                    };
                    let name = hook["name"].as_str().unwrap_or_default().to_string();
                    if req.dry_run
                        && !matches!(hook["sideEffects"].as_str(), Some("None" | "NoneOnDryRun"))
                    {
                        return Err(ApiError::bad_request(format!(
                            "admission webhook \"{name}\" does not support dry run"
                        )));
                    }
                    let versions_ok = hook["admissionReviewVersions"]
                        .as_array()
                        .is_none_or(|v| v.iter().any(|v| v == "v1"));
                    let endpoint = if versions_ok {
                        webhooks::endpoint(hook, |ns, name, port| {
                            self.proxy
                                .resolve(ns, name, port)
                                .map_err(|e| e.to_string())
                        })
                        .map_err(|e| e.to_string())
                    } else {
                        Err("admissionReviewVersions does not include v1".into())
                    };
                    planned.push(Planned {
                        name,
                        version,
                        mutating,
                        endpoint,
                    });
                }
            }
        }
        Ok(planned)
    }
}

async fn call(endpoint: &Endpoint, body: &Value) -> Result<Value, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&endpoint.ca_pem) {
        roots
            .add(cert.map_err(|e| format!("caBundle: {e}"))?)
            .map_err(|e| format!("caBundle: {e}"))?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(endpoint.timeout);
    if let Some((host, addr)) = &endpoint.resolve {
        builder = builder.resolve(host, *addr);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let resp = client
        .post(&endpoint.url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("Post \"{}\": {e}", endpoint.url))?;
    if !resp.status().is_success() {
        return Err(format!(
            "received HTTP {} from {}",
            resp.status(),
            endpoint.url
        ));
    }
    resp.json::<Value>()
        .await
        .map_err(|e| format!("bad AdmissionReview: {e}"))
}

fn denial(code: u16, message: String) -> ApiError {
    let reason = match code {
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        422 => "Invalid",
        429 => "TooManyRequests",
        _ => "BadRequest",
    };
    ApiError::new(code, reason, message)
}

async fn dispatch(
    planned: Vec<Planned>,
    mut req: AdmissionRequest,
) -> ApiResult<(Value, Vec<String>)> {
    let mut all_warnings = Vec::new();
    for p in planned {
        let uid = crate::store::new_uid();
        let outcome = match &p.endpoint {
            Ok(endpoint) => call(endpoint, &webhooks::review_as(&req, &uid, &p.version)).await,
            Err(e) => Err(e.clone()),
        };
        let fail_closed = p.endpoint.as_ref().map_or(true, |e| e.fail_closed);
        let verdict = match outcome {
            Ok(answer) => {
                // Patches apply to the object in the version the webhook saw.
                let seen = webhooks::as_version(&req.object, &req.group, &p.version);
                webhooks::verdict(&p.name, &uid, seen, &answer, p.mutating)
            }
            Err(e) => Verdict::Invalid(format!("failed to call webhook: {e}")),
        };
        match verdict {
            Verdict::Allowed(object, warnings) => {
                for warning in &warnings {
                    tracing::debug!(webhook = %p.name, %warning, "Admission webhook warning");
                }
                all_warnings.extend(warnings);
                req.object = webhooks::as_version(&object, &req.group, &req.version);
            }
            Verdict::Denied(code, message) => return Err(denial(code, message)),
            Verdict::Invalid(error) if fail_closed => {
                return Err(ApiError::internal(format!(
                    "Internal error occurred: failed calling webhook \"{}\": {error}",
                    p.name
                )));
            }
            Verdict::Invalid(error) => {
                tracing::warn!(webhook = %p.name, %error, "Failed calling webhook, failing open");
            }
        }
    }
    Ok((req.object, all_warnings))
}

impl AdmissionHook for WebhookDispatcher {
    fn admit(&self, req: AdmissionRequest) -> BoxFuture<'static, ApiResult<Value>> {
        let admitted = self.admit_with_warnings(req);
        async move { admitted.await.map(|(v, _)| v) }.boxed()
    }

    fn admit_with_warnings(
        &self,
        req: AdmissionRequest,
    ) -> BoxFuture<'static, ApiResult<(Value, Vec<String>)>> {
        if req.group == GROUP {
            return futures::future::ready(Ok((req.object, Vec::new()))).boxed();
        }
        match self.plan(&req) {
            Ok(planned) if planned.is_empty() => {
                futures::future::ready(Ok((req.object, Vec::new()))).boxed()
            }
            Ok(planned) => dispatch(planned, req).boxed(),
            Err(e) => futures::future::ready(Err(e)).boxed(),
        }
    }
}
