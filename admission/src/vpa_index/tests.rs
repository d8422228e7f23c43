use super::*;
use vpa_common::testutil::VpaBuilder;

fn vpa(ns: &str, name: &str, rv: &str, cpu: &str) -> VerticalPodAutoscaler {
    let mut v = VpaBuilder::new(ns, name)
        .container("app")
        .target(cpu, "100Mi")
        .build();
    v.metadata.uid = Some(format!("uid-{ns}-{name}"));
    v.metadata.resource_version = Some(rv.into());
    v
}

fn target_cpu(entry: &IndexedVpa) -> i64 {
    let recs = entry.recommendation.as_ref().unwrap().as_ref().unwrap();
    recs[0].target["cpu"]
}

fn names(index: &VpaIndex, ns: &str) -> Vec<String> {
    index
        .in_namespace(ns)
        .iter()
        .map(|e| e.vpa.metadata.name.clone().unwrap())
        .collect()
}

#[test]
fn namespace_lookup_returns_only_that_namespace_and_follows_deletes() {
    let mut index = VpaIndex::default();
    index.handle(Event::Apply(vpa("a", "one", "1", "100m")));
    index.handle(Event::Apply(vpa("a", "two", "1", "100m")));
    index.handle(Event::Apply(vpa("b", "three", "1", "100m")));
    assert_eq!(names(&index, "a"), ["one", "two"]);
    assert_eq!(names(&index, "b"), ["three"]);
    assert!(names(&index, "c").is_empty());
    index.handle(Event::Delete(vpa("a", "one", "2", "100m")));
    assert_eq!(names(&index, "a"), ["two"]);
    index.handle(Event::Delete(vpa("b", "three", "2", "100m")));
    assert!(names(&index, "b").is_empty());
    assert_eq!(index.all().len(), 1);
}

#[test]
fn recommendation_is_parsed_once_per_version() {
    let mut index = VpaIndex::default();
    index.handle(Event::Apply(vpa("a", "v", "1", "100m")));
    let first = index.in_namespace("a").remove(0);
    assert_eq!(target_cpu(&first), 100);
    // The same version again (e.g. a relist): the parsed entry is kept.
    index.handle(Event::Apply(vpa("a", "v", "1", "100m")));
    assert!(Arc::ptr_eq(&first, &index.in_namespace("a")[0]));
    // A new resourceVersion is parsed again.
    index.handle(Event::Apply(vpa("a", "v", "2", "300m")));
    let second = index.in_namespace("a").remove(0);
    assert!(!Arc::ptr_eq(&first, &second));
    assert_eq!(target_cpu(&second), 300);
}

#[test]
fn objects_without_version_are_parsed_on_every_apply() {
    let mut index = VpaIndex::default();
    let mut v = vpa("a", "v", "1", "100m");
    v.metadata.resource_version = None;
    index.apply(Arc::new(v.clone()));
    let first = index.in_namespace("a").remove(0);
    index.apply(Arc::new(v));
    assert!(!Arc::ptr_eq(&first, &index.in_namespace("a")[0]));
}

#[test]
fn relist_replaces_the_index_at_init_done_and_keeps_unchanged_entries() {
    let mut index = VpaIndex::default();
    assert!(!index.is_ready());
    index.handle(Event::Init);
    index.handle(Event::InitApply(vpa("a", "kept", "1", "100m")));
    index.handle(Event::InitApply(vpa("a", "gone", "1", "100m")));
    // Nothing is visible before the first list completes.
    assert!(names(&index, "a").is_empty());
    index.handle(Event::InitDone);
    assert!(index.is_ready());
    assert_eq!(names(&index, "a"), ["gone", "kept"]);
    let kept = index.in_namespace("a").pop().unwrap();

    // A relist after a watch gap: "gone" was deleted meanwhile, "new" appeared.
    index.handle(Event::Init);
    index.handle(Event::InitApply(vpa("a", "kept", "1", "100m")));
    index.handle(Event::InitApply(vpa("b", "new", "5", "100m")));
    assert_eq!(names(&index, "a"), ["gone", "kept"], "old state until done");
    index.handle(Event::InitDone);
    assert_eq!(names(&index, "a"), ["kept"]);
    assert_eq!(names(&index, "b"), ["new"]);
    assert!(Arc::ptr_eq(&kept, &index.in_namespace("a")[0]));
}

#[test]
fn unparsable_recommendation_is_kept_as_an_error() {
    let mut v = vpa("a", "v", "1", "100m");
    let recs = v.status.as_mut().unwrap().recommendation.as_mut().unwrap();
    recs.container_recommendations.as_mut().unwrap()[0]
        .target
        .insert(
            "cpu".into(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("x".into()),
        );
    let index = VpaIndex::from_vpas([Arc::new(v)]);
    assert!(index.is_ready());
    assert!(index.in_namespace("a")[0].recommendation.is_err());
}
