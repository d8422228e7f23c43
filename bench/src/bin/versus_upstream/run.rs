//! One versus-upstream run (edge): locates both sides' binaries, compares the chosen components
//! and writes the tables as Markdown (stdout) and JSON (`--json`).

use crate::args::{Args, Component};
use crate::{admission, peers, recommender, updater};

/// Runs the comparisons `args` asks for.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let load_at_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let bins = peers::Binaries::locate(&args)?;
    let temp = tempfile::Builder::new()
        .prefix("versus-upstream-")
        .tempdir()?;
    let logs = match &args.log_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => temp.path().to_path_buf(),
    };
    let mut tables = Vec::new();
    for c in &args.component {
        let table = match c {
            Component::Recommender => recommender::compare(&args, &bins, &logs).await?,
            Component::Updater => updater::compare(&args, &bins, &logs).await?,
            Component::Admission => admission::compare(&args, &bins, &logs).await?,
        };
        println!("\n{}", table.markdown());
        tables.push(table);
    }
    let json = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "date": chrono::Utc::now().to_rfc3339(),
        "load_average_at_start": load_at_start.trim(),
        "load_average_at_end": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "tables": tables.iter().map(|t| t.json()).collect::<Vec<_>>(),
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&json)?)?;
    eprintln!("wrote {}", args.json.display());
    Ok(())
}
