//! The API's write semantics over the store, shared by the HTTP layer and in-process callers (no
//! HTTP here). [`Shared`] holds the store, the served resources and the hooks; its write paths
//! are split by concern: `validate` (schema, pruning, `fieldValidation`, defaulting), `write`
//! (create, update, delete, admission), `patch` (patches with conflict retries and the scale
//! subresource), `subresource` (status/resize rules) and `crds` (CRD registration).

mod crds;
mod patch;
mod subresource;
mod validate;
mod write;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;

use crate::auth::Tokens;
use crate::faults::Faults;
pub use crate::hooks::{AdmissionHook, AdmissionRequest, AuditHook, AuditRecord};
use crate::resource::{Registry, ResourceInfo};
use crate::store::Store;
pub use validate::{FieldValidation, WriteOptions};

/// OpenAPI documents by path: (hash, body).
pub(crate) type OpenApiDocs = HashMap<String, (String, Bytes)>;

/// The server's shared state.
pub struct Shared {
    /// Objects.
    pub store: Store,
    registry: RwLock<Arc<Registry>>,
    registry_gen: AtomicU64,
    /// Bearer tokens.
    pub tokens: Tokens,
    /// Fault injection.
    pub faults: Faults,
    audit: RwLock<Option<AuditHook>>,
    admission: RwLock<Vec<Arc<dyn AdmissionHook>>>,
    /// Cached OpenAPI documents: registry generation, then path -> (hash, body).
    pub(crate) openapi: Mutex<(u64, OpenApiDocs)>,
    /// How often watches with allowWatchBookmarks get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// `host:port` the server listens on.
    pub address: RwLock<String>,
    /// Where `pods/<name>/log` reads from (the cluster's process runner plugs in here).
    pub logs: RwLock<Option<crate::hooks::LogSource>>,
}

/// The group and resource of CRDs, whose writes change what is served.
const CRDS: (&str, &str) = ("apiextensions.k8s.io", "customresourcedefinitions");

impl Shared {
    /// State around `store`.
    pub fn new(store: Store, faults: Faults, bookmark_interval: Duration) -> Self {
        Shared {
            store,
            registry: RwLock::new(Arc::new(Registry::builtin())),
            registry_gen: AtomicU64::new(0),
            tokens: Tokens::default(),
            faults,
            audit: RwLock::new(None),
            admission: RwLock::new(Vec::new()),
            openapi: Mutex::new((u64::MAX, HashMap::new())),
            bookmark_interval,
            address: RwLock::new(String::new()),
            logs: RwLock::new(None),
        }
    }

    /// The served resources now.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Bumped whenever the served resources change.
    pub fn registry_generation(&self) -> u64 {
        self.registry_gen.load(Ordering::SeqCst)
    }

    /// Sets (or clears) the audit hook.
    pub fn set_audit_hook(&self, hook: Option<AuditHook>) {
        *self.audit.write().unwrap_or_else(|e| e.into_inner()) = hook;
    }

    /// Records one request.
    pub fn audit(&self, rec: &AuditRecord) {
        if let Some(h) = self
            .audit
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            h(rec);
        }
    }

    /// Adds an admission hook (run in order on every create and update).
    pub fn add_admission_hook(&self, hook: Arc<dyn AdmissionHook>) {
        self.admission
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(hook);
    }
}

/// The namespace key of an object of `info`: empty for cluster-scoped kinds.
pub fn ns_of<'a>(info: &ResourceInfo, ns: &'a str) -> &'a str {
    if info.namespaced { ns } else { "" }
}
