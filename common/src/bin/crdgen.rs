//! Writes the generated CRDs to `deploy/crds/vpa-v1-crd.yaml` (or the path given).

fn main() -> std::io::Result<()> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("{root}/{}", vpa_common::crd::CRD_PATH));
    std::fs::write(&path, vpa_common::crd::crd_yaml())?;
    println!("wrote {path}");
    Ok(())
}
