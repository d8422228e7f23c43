//! Watch streams: replay from a resourceVersion (or synthetic ADDED events), then live events
//! with selector transitions (an object leaving the selector is DELETED for this watcher),
//! bookmarks, `sendInitialEvents`, timeouts, and the fault-injected drops. A too-old
//! resourceVersion answers with a 410 ERROR event, as kube-apiserver does. Edge.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::{Req, filter, object_bytes};
use crate::api::Shared;
use crate::error::ApiResult;
use crate::resource::ResourceInfo;
use crate::store::{EventType, StoredObject, WatchEvent};
use crate::table::{self, IncludeObject};

struct Encoder {
    info: Arc<ResourceInfo>,
    table: bool,
    include: IncludeObject,
}

impl Encoder {
    fn event(&self, s: &Shared, type_: &str, o: &StoredObject) -> Bytes {
        let obj = if self.table {
            Bytes::from(
                serde_json::to_vec(&table::table(
                    &self.info.columns,
                    &[&o.value],
                    json!({"resourceVersion": o.rv.to_string()}),
                    self.include,
                    s.store.now_time(),
                ))
                .unwrap_or_default(),
            )
        } else {
            object_bytes(&self.info, o)
        };
        let mut out = Vec::with_capacity(obj.len() + 32);
        out.extend_from_slice(format!("{{\"type\":\"{type_}\",\"object\":").as_bytes());
        out.extend_from_slice(&obj);
        out.extend_from_slice(b"}\n");
        Bytes::from(out)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let obj = json!({"kind": self.info.kind, "apiVersion": self.info.api_version(), "metadata": meta});
        Bytes::from(format!("{}\n", json!({"type": "BOOKMARK", "object": obj})))
    }
}

fn error_event(status: &Value) -> Bytes {
    Bytes::from(format!("{}\n", json!({"type": "ERROR", "object": status})))
}

/// The event type this watcher sees for `ev`, given its filter (None: not visible).
fn visible(
    ev: &WatchEvent,
    ns: &str,
    keep: &dyn Fn(&StoredObject) -> bool,
) -> Option<&'static str> {
    let in_scope = |o: &StoredObject| (ns.is_empty() || o.namespace() == ns) && keep(o);
    let now = in_scope(&ev.object);
    let before = ev.prev.as_deref().is_some_and(in_scope);
    match ev.type_ {
        EventType::Added => now.then_some("ADDED"),
        EventType::Deleted => before.then_some("DELETED"),
        EventType::Modified => match (before, now) {
            (true, true) => Some("MODIFIED"),
            (false, true) => Some("ADDED"),
            (true, false) => Some("DELETED"),
            (false, false) => None,
        },
    }
}

/// Starts a watch response.
pub(super) fn serve(
    s: Arc<Shared>,
    req: &Req,
    info: Arc<ResourceInfo>,
    ns: &str,
) -> ApiResult<Response> {
    let keep = filter(req)?;
    let ns = if info.namespaced {
        ns.to_string()
    } else {
        String::new()
    };
    let enc = Encoder {
        info: info.clone(),
        table: req.wants_table(),
        include: req.include_object(),
    };
    let bookmarks = req.flag("allowWatchBookmarks");
    let initial_events = req.flag("sendInitialEvents");
    let since = match req.q("resourceVersion") {
        Some("0") | None => None,
        _ if initial_events => None,
        Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
            crate::error::ApiError::bad_request(format!("invalid resourceVersion {rv}"))
        })?),
    };
    let timeout = req
        .q("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let start = s.store.watch(&info.gr(), since);
    let mut restarts = s.faults.restarts();
    restarts.mark_unchanged();
    let drop_after = s.faults.drop_watches_after();
    tokio::spawn(async move {
        let mut start = match start {
            Ok(start) => start,
            Err(e) => {
                let _ = tx.send(Ok(error_event(&e.to_status()))).await;
                return;
            }
        };
        let mut last = start.rv;
        for ev in &start.backlog {
            if let Some(t) = visible(ev, &ns, &keep)
                && tx.send(Ok(enc.event(&s, t, &ev.object))).await.is_err()
            {
                return;
            }
            last = last.max(ev.rv);
        }
        if initial_events && bookmarks && tx.send(Ok(enc.bookmark(start.rv, true))).await.is_err() {
            return;
        }
        let deadline = async {
            match (timeout, drop_after) {
                (Some(a), Some(b)) => tokio::time::sleep(a.min(b)).await,
                (Some(a), None) | (None, Some(a)) => tokio::time::sleep(a).await,
                (None, None) => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(s.bookmark_interval);
        tick.tick().await;
        loop {
            tokio::select! {
                ev = start.rx.recv() => match ev {
                    Ok(ev) => {
                        if ev.rv <= last {
                            continue;
                        }
                        last = ev.rv;
                        if let Some(t) = visible(&ev, &ns, &keep)
                            && tx.send(Ok(enc.event(&s, t, &ev.object))).await.is_err() {
                                return;
                            }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tick.tick(), if bookmarks => {
                    if tx.send(Ok(enc.bookmark(last, false))).await.is_err() {
                        return;
                    }
                }
                _ = &mut deadline => return,
                _ = restarts.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .expect("valid response"))
}
