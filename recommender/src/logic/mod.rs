//! Recommendation logic (pure): composable estimators over the model's aggregates and the
//! per-workload recommender that turns them into target, lower and upper bounds.

mod estimator;
mod recommender;

pub use estimator::{
    ConfidenceMultiplier, ConstEstimator, EstimatorExt, MarginEstimator, MinResourcesEstimator,
    PercentileEstimator, ResourceEstimator, confidence,
};
pub use recommender::{
    BoundEstimator, ContainerInput, ContainerRecommendation, ControlledResources,
    PodResourceRecommender, RecommendedResources, RecommenderConfig, TargetEstimator,
};
