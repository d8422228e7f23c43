//! The API's write semantics over the store, shared by the HTTP layer and in-process callers:
//! schema validation and pruning with `fieldValidation`, status/scale/resize subresource rules,
//! patches with conflict retries, admission hooks, audit records, and CRD registration.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use crate::auth::{Tokens, UserInfo};
use crate::crd;
use crate::error::{ApiError, ApiResult};
use crate::faults::Faults;
pub use crate::hooks::{AdmissionHook, AdmissionRequest, AuditHook, AuditRecord};
use crate::patch::{self, PatchType};
use crate::resource::{GroupResource, Registry, ResourceInfo, Schema};
use crate::schema::{self, Mode};
use crate::store::{DeleteOptions, Deleted, Store, StoredObject};

/// `?fieldValidation=`: what to do with unknown or duplicate fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and answer with `Warning` headers (the default).
    #[default]
    Warn,
    /// Reject the request with 400.
    Strict,
}

impl FieldValidation {
    /// Parses the query value (unknown values read as Warn).
    pub fn parse(s: &str) -> Self {
        match s {
            "Strict" => FieldValidation::Strict,
            "Ignore" => FieldValidation::Ignore,
            _ => FieldValidation::Warn,
        }
    }
}

/// Options of a create, update or patch.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldValidation`.
    pub validation: FieldValidation,
    /// `fieldManager` (server-side apply).
    pub field_manager: String,
    /// The raw body, to find duplicate fields.
    pub raw: Option<Bytes>,
}

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

    /// Re-derives the served CRD kinds from the stored CRDs.
    pub fn sync_crds(&self) {
        let mut reg = Registry::builtin();
        let crds = self
            .store
            .list(&GroupResource::new(CRDS.0, CRDS.1), None, None, 0, |_| true)
            .items;
        for c in crds {
            let infos = crd::resource_infos(&c.value);
            if let Some(first) = infos.first() {
                let (group, plural) = (first.group.clone(), first.plural.clone());
                reg.remove(&group, &plural);
                let mut versions = Vec::new();
                for info in infos {
                    versions.push(info.version.clone());
                    reg.insert(info);
                }
                reg.set_versions(&group, versions);
            }
        }
        let no_status_subresource = reg
            .all()
            .filter(|r| matches!(r.schema, Schema::Crd(_)) && !r.has_subresource("status"))
            .map(|r| r.gr())
            .collect();
        self.store.set_status_in_generation(no_status_subresource);
        *self.registry.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(reg);
        self.registry_gen.fetch_add(1, Ordering::SeqCst);
    }

    /// Checks apiVersion/kind, prunes unknown fields, and validates `obj` against the schema.
    /// Returns warnings for dropped fields.
    fn validate(
        &self,
        info: &ResourceInfo,
        obj: &mut Value,
        opts: &WriteOptions,
    ) -> ApiResult<Vec<String>> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let cannot = format!(
            "{} in version \"{}\" cannot be handled as a {}",
            info.kind, info.version, info.kind
        );
        if let Some(k) = obj.get("kind").and_then(Value::as_str)
            && k != info.kind
        {
            return Err(ApiError::bad_request(format!(
                "{cannot}: the kind in the data ({k}) does not match the expected kind ({})",
                info.kind
            )));
        }
        obj["apiVersion"] = json!(info.api_version());
        obj["kind"] = json!(info.kind);
        // A CRD's schema is borrowed, not cloned: the VPA schema is tens of kilobytes of tree.
        let builtin_ref;
        let (schema, defs, mode) = match &info.schema {
            Schema::Builtin(n) => {
                builtin_ref = json!({"$ref": format!("{}{n}", schema::REF_PREFIX)});
                (&builtin_ref, schema::builtin_defs(), Mode::Builtin)
            }
            Schema::Crd(s) => (&**s, schema::builtin_defs(), Mode::Crd),
            Schema::None => return Ok(Vec::new()),
        };
        let check = schema::check(obj, schema, defs, mode);
        let dups = opts
            .raw
            .as_deref()
            .map(schema::duplicate_fields)
            .unwrap_or_default();
        let mut problems: Vec<String> = check
            .unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        problems.extend(dups.iter().map(|f| format!("duplicate field \"{f}\"")));
        if opts.validation == FieldValidation::Strict && !problems.is_empty() {
            return Err(ApiError::bad_request(format!(
                "{cannot}: strict decoding error: {}",
                problems.join(", ")
            )));
        }
        if !check.errors.is_empty() {
            if mode == Mode::Builtin {
                let c = &check.errors[0];
                return Err(ApiError::bad_request(format!(
                    "{cannot}: json: cannot unmarshal into Go struct field {} ({})",
                    c.field, c.message
                )));
            }
            return Err(ApiError::invalid(
                &info.group,
                &info.kind,
                &name,
                check.errors,
            ));
        }
        if mode == Mode::Builtin {
            crate::defaults::apply(&info.kind, obj);
        }
        Ok(if opts.validation == FieldValidation::Warn {
            problems
        } else {
            Vec::new()
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn admit(
        &self,
        op: &'static str,
        info: &ResourceInfo,
        sub: &str,
        ns: &str,
        obj: Value,
        old: Option<&Value>,
        user: &UserInfo,
        dry_run: bool,
    ) -> ApiResult<(Value, Vec<String>)> {
        let hooks: Vec<Arc<dyn AdmissionHook>> = self
            .admission
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut obj = obj;
        let mut warnings = Vec::new();
        for h in hooks {
            let req = AdmissionRequest {
                operation: op,
                group: info.group.clone(),
                version: info.version.clone(),
                resource: info.plural.clone(),
                kind: info.kind.clone(),
                subresource: sub.to_string(),
                namespace: ns.to_string(),
                object: obj,
                old_object: old.cloned(),
                user: user.clone(),
                dry_run,
            };
            let (admitted, w) = h.admit_with_warnings(req).await?;
            obj = admitted;
            warnings.extend(w);
        }
        Ok((obj, warnings))
    }

    /// Creates an object in `ns` (ignored for cluster-scoped kinds).
    pub async fn create(
        &self,
        user: &UserInfo,
        info: &ResourceInfo,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<(Arc<StoredObject>, Vec<String>)> {
        let mut warnings = self.validate(info, &mut obj, opts)?;
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        if info.namespaced {
            let body_ns = obj["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !body_ns.is_empty() && !ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            obj["metadata"]["namespace"] = json!(if ns.is_empty() {
                body_ns
            } else {
                ns.to_string()
            });
        }
        if info.group.is_empty()
            && info.plural == "namespaces"
            && obj.pointer("/status/phase").is_none()
        {
            obj["status"] = json!({"phase": "Active"});
        }
        if matches!(info.schema, Schema::Crd(_)) && info.has_subresource("status") {
            obj.as_object_mut().map(|m| m.remove("status"));
        }
        let (obj, admission_warnings) = self
            .admit("CREATE", info, "", ns, obj, None, user, opts.dry_run)
            .await?;
        warnings.extend(admission_warnings);
        let created = self
            .store
            .create(&info.gr(), info.namespaced, obj, opts.dry_run)?;
        if !opts.dry_run {
            self.after_write(info, &created);
        }
        Ok((self.current_or(&info.gr(), created), warnings))
    }

    fn current_or(&self, gr: &GroupResource, o: Arc<StoredObject>) -> Arc<StoredObject> {
        if gr.group == CRDS.0 && gr.resource == CRDS.1 {
            return self.store.get(gr, "", o.name()).unwrap_or(o);
        }
        o
    }

    fn after_write(&self, info: &ResourceInfo, obj: &StoredObject) {
        if info.group != CRDS.0 || info.plural != CRDS.1 {
            return;
        }
        let gr = info.gr();
        if let Some(cur) = self.store.get(&gr, "", obj.name()) {
            let status = crd::accepted_status(&cur.value, &self.store.now());
            if cur.value["status"]["acceptedNames"] != status["acceptedNames"]
                || cur.value["status"]["storedVersions"] != status["storedVersions"]
            {
                let mut v = cur.value.clone();
                v["status"] = status;
                let _ = self.store.update(&gr, "", cur.name(), v, None, false);
            }
        }
        self.sync_crds();
    }

    /// Applies the subresource rules to a new version of an object.
    fn merge_for_subresource(info: &ResourceInfo, sub: &str, old: &Value, new: Value) -> Value {
        match sub {
            "" if info.has_subresource("status") => {
                let mut new = new;
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().map(|m| m.remove("status"));
                    }
                }
                new
            }
            "status" => {
                // The old object without its status, plus the new status (moved, not copied).
                let mut new = new;
                let status = new.as_object_mut().and_then(|m| m.remove("status"));
                let mut out: serde_json::Map<String, Value> = old
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| k.as_str() != "status")
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                if let Some(status) = status.filter(|s| !s.is_null()) {
                    out.insert("status".into(), status);
                }
                Value::Object(out)
            }
            "resize" => {
                let mut out = old.clone();
                let new_containers = new
                    .pointer("/spec/containers")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if let Some(cs) = out
                    .pointer_mut("/spec/containers")
                    .and_then(Value::as_array_mut)
                {
                    for c in cs.iter_mut() {
                        if let Some(n) = new_containers.iter().find(|n| n["name"] == c["name"]) {
                            for field in ["resources", "resizePolicy"] {
                                match n.get(field) {
                                    Some(v) => c[field] = v.clone(),
                                    None => {
                                        c.as_object_mut().map(|m| m.remove(field));
                                    }
                                }
                            }
                        }
                    }
                }
                out
            }
            _ => new,
        }
    }

    /// Replaces an object (or its status/resize subresource).
    #[allow(clippy::too_many_arguments)]
    pub async fn update(
        &self,
        user: &UserInfo,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        sub: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> ApiResult<(Arc<StoredObject>, Vec<String>)> {
        let gr = info.gr();
        let body_name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or(name);
        if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let mut warnings = self.validate(info, &mut obj, opts)?;
        let expected = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<u64>().unwrap_or(0));
        let cur = self
            .store
            .get(&gr, ns_of(info, ns), name)
            .ok_or_else(|| ApiError::not_found(&info.group, &info.plural, name))?;
        if expected.is_some_and(|rv| rv != cur.rv) {
            return Err(ApiError::stale(&info.group, &info.plural, name));
        }
        let new = Self::merge_for_subresource(info, sub, &cur.value, obj);
        let (new, admission_warnings) = self
            .admit(
                "UPDATE",
                info,
                sub,
                ns,
                new,
                Some(&cur.value),
                user,
                opts.dry_run,
            )
            .await?;
        warnings.extend(admission_warnings);
        let out = self
            .store
            .update(&gr, ns_of(info, ns), name, new, Some(cur.rv), opts.dry_run)?;
        if !opts.dry_run {
            self.after_write(info, &out);
        }
        Ok((out, warnings))
    }

    /// Patches an object (or a subresource), retrying on write conflicts like the real server.
    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &self,
        user: &UserInfo,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        sub: &str,
        ptype: PatchType,
        body: &[u8],
        opts: &WriteOptions,
    ) -> ApiResult<(Arc<StoredObject>, Vec<String>, bool)> {
        let gr = info.gr();
        if ptype == PatchType::Strategic && !matches!(info.schema, Schema::Builtin(_)) {
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
            ));
        }
        let parsed = if ptype == PatchType::Json {
            Value::Null
        } else {
            schema::decode_json(body)?
        };
        let mut opts = opts.clone();
        if ptype != PatchType::Json && ptype != PatchType::Apply {
            opts.raw = Some(Bytes::copy_from_slice(body));
        }
        for _ in 0..8 {
            let Some(cur) = self.store.get(&gr, ns_of(info, ns), name) else {
                if ptype == PatchType::Apply && sub.is_empty() {
                    let mut obj =
                        patch::apply(None, &parsed, &opts.field_manager, "", &self.store.now());
                    obj["metadata"]["name"] = json!(name);
                    let (o, w) = self.create(user, info, ns, obj, &opts).await?;
                    return Ok((o, w, true));
                }
                return Err(ApiError::not_found(&info.group, &info.plural, name));
            };
            // The patches copy only what they keep of the stored object.
            let scale;
            let base = if sub == "scale" {
                scale = crate::server::scale_of(info, &cur.value);
                &scale
            } else {
                &cur.value
            };
            let mut new = match ptype {
                PatchType::Json => patch::json_patch(base, body)?,
                PatchType::Merge => patch::merge_patch(base, &parsed),
                PatchType::Strategic => patch::strategic_merge(base, &parsed),
                PatchType::Apply => patch::apply(
                    Some(base),
                    &parsed,
                    &opts.field_manager,
                    sub,
                    &self.store.now(),
                ),
            };
            if sub == "scale" {
                let replicas = new.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
                // The Scale's resourceVersion (a PUT's) is a precondition on the object.
                let rv = new.pointer("/metadata/resourceVersion").cloned();
                new = cur.value.clone();
                crate::server::set_scale_replicas(info, &mut new, replicas);
                if let Some(rv) = rv.filter(|v| v.is_string()) {
                    new["metadata"]["resourceVersion"] = rv;
                }
            }
            let expected = new
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<u64>().ok());
            if expected.is_some_and(|rv| rv != cur.rv) {
                return Err(ApiError::stale(&info.group, &info.plural, name));
            }
            let mut warnings = self.validate(info, &mut new, &opts)?;
            let new = Self::merge_for_subresource(
                info,
                if sub == "scale" { "" } else { sub },
                &cur.value,
                new,
            );
            let (new, admission_warnings) = self
                .admit(
                    "UPDATE",
                    info,
                    sub,
                    ns,
                    new,
                    Some(&cur.value),
                    user,
                    opts.dry_run,
                )
                .await?;
            warnings.extend(admission_warnings);
            match self
                .store
                .update(&gr, ns_of(info, ns), name, new, Some(cur.rv), opts.dry_run)
            {
                Ok(out) => {
                    if !opts.dry_run {
                        self.after_write(info, &out);
                    }
                    return Ok((out, warnings, false));
                }
                Err(e) if e.code == 409 && expected.is_none() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::stale(&info.group, &info.plural, name))
    }

    /// Deletes an object; deleting a CRD removes its kind and objects.
    pub fn delete(
        &self,
        info: &ResourceInfo,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Deleted> {
        let out = self.store.delete(&info.gr(), ns_of(info, ns), name, opts)?;
        if let Deleted::Gone(o) = &out
            && !opts.dry_run
            && info.group == CRDS.0
            && info.plural == CRDS.1
        {
            let group = o.value["spec"]["group"].as_str().unwrap_or_default();
            let plural = o.value["spec"]["names"]["plural"]
                .as_str()
                .unwrap_or_default();
            self.store.drop_resource(&GroupResource::new(group, plural));
            self.sync_crds();
        }
        Ok(out)
    }
}

/// The namespace key of an object of `info`: empty for cluster-scoped kinds.
pub fn ns_of<'a>(info: &ResourceInfo, ns: &'a str) -> &'a str {
    if info.namespaced { ns } else { "" }
}
