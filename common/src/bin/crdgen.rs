//! Writes the generated CRDs to `deploy/crds/vpa-v1-crd.yaml` and the Helm chart's `crds/`
//! (or, given a path argument, only there).

fn main() -> std::io::Result<()> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let paths: Vec<String> = match std::env::args().nth(1) {
        Some(path) => vec![path],
        None => vpa_common::crd::CRD_PATHS
            .iter()
            .map(|p| format!("{root}/{p}"))
            .collect(),
    };
    for path in paths {
        std::fs::write(&path, vpa_common::crd::crd_yaml())?;
        println!("wrote {path}");
    }
    Ok(())
}
