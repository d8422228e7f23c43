//! VPAs as the watch cache keeps them (pure data): the object without managed fields, without
//! annotations other than the post-processor's, and with its status reduced to a
//! [`StoredStatus`] (the recommendation only as a fingerprint). A VPA's stored recommendation is
//! four quantity maps per container, about 10 KiB per VPA as a typed object; the recommender
//! only compares its new recommendation with it.

use std::sync::Arc;

use vpa_common::api::VerticalPodAutoscaler;
use vpa_common::postprocess::POST_PROCESSOR_ANNOTATION_PREFIX;

use crate::config::stored_status::StoredStatus;

/// A cached VPA.
#[derive(Clone, Debug)]
pub struct CachedVpa {
    /// The object, without `status`, labels, owner references, finalizers, managed fields and
    /// annotations other than the post-processor ones.
    pub vpa: Arc<VerticalPodAutoscaler>,
    /// What the cache keeps of its status.
    pub status: Option<Arc<StoredStatus>>,
}

impl From<VerticalPodAutoscaler> for CachedVpa {
    fn from(mut vpa: VerticalPodAutoscaler) -> Self {
        let status = vpa.status.take().map(|s| Arc::new(StoredStatus::of(&s)));
        // Metadata the recommender never reads: Helm and GitOps tools label every VPA and may
        // add owner references and finalizers, often more bytes than its spec.
        vpa.metadata.managed_fields = None;
        vpa.metadata.labels = None;
        vpa.metadata.owner_references = None;
        vpa.metadata.finalizers = None;
        if let Some(annotations) = vpa.metadata.annotations.as_mut() {
            annotations.retain(|key, _| key.starts_with(POST_PROCESSOR_ANNOTATION_PREFIX));
        }
        Self {
            vpa: Arc::new(vpa),
            status,
        }
    }
}

#[cfg(test)]
mod tests {
    use vpa_common::api::{RecommendedPodResources, VerticalPodAutoscalerStatus};
    use vpa_common::testutil::VpaBuilder;

    use super::*;

    #[test]
    fn keeps_the_spec_and_a_fingerprint_of_the_recommendation() {
        let mut vpa = VpaBuilder::new("ns", "web").build();
        vpa.metadata.labels = Some([("app.kubernetes.io/name".into(), "web".into())].into());
        vpa.metadata.finalizers = Some(vec!["example.com/keep".into()]);
        vpa.metadata.annotations = Some(
            [
                ("kubectl.kubernetes.io/last-applied-configuration", "{...}"),
                ("vpa-post-processor.kubernetes.io/app_integerCPU", "true"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
        );
        let recommendation = RecommendedPodResources {
            container_recommendations: Some(vec![Default::default()]),
        };
        vpa.status = Some(VerticalPodAutoscalerStatus {
            recommendation: Some(recommendation.clone()),
            observed_generation: Some(3),
            ..Default::default()
        });
        let cached = CachedVpa::from(vpa.clone());
        assert_eq!(cached.vpa.spec, vpa.spec);
        assert_eq!(cached.vpa.status, None);
        assert_eq!(cached.vpa.metadata.labels, None, "labels are not kept");
        assert_eq!(cached.vpa.metadata.finalizers, None);
        assert_eq!(cached.vpa.metadata.name.as_deref(), Some("web"));
        let annotations = cached.vpa.metadata.annotations.as_ref().unwrap();
        assert_eq!(
            annotations.keys().collect::<Vec<_>>(),
            ["vpa-post-processor.kubernetes.io/app_integerCPU"]
        );
        let status = cached.status.unwrap();
        assert_eq!(status.observed_generation, Some(3));
        assert_eq!(
            status.recommendation,
            Some(crate::config::stored_status::fingerprint(&recommendation))
        );
    }
}
