//! Admission webhooks called as kube-apiserver calls them: the pure decisions (`webhooks`: which
//! webhooks match a request, where to call them, the AdmissionReview sent and the verdict read
//! back) and the dispatcher that calls them over HTTPS (`dispatch`, the edge, an admission hook
//! of the API server).

pub mod dispatch;
#[cfg(test)]
mod tests;
pub mod webhooks;
