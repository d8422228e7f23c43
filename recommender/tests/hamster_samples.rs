//! Generates `examples/samples/hamster.csv` and checks the shipped file is what it generates.
//! Regenerate with `VPA_REGENERATE_SAMPLES=1 cargo test -p vpa-recommender --test hamster_samples`.

use std::fmt::Write;
use std::path::PathBuf;

/// 2026-11-16T00:00:00Z, a Monday.
const START: i64 = 1_794_787_200;
const STEP: i64 = 600;
const DAYS: i64 = 4;
const MIB: f64 = 1024.0 * 1024.0;
const PODS: [&str; 2] = ["hamster-7d9f8b6c5-x2m4q", "hamster-7d9f8b6c5-rk8zt"];

/// A small deterministic generator (xorshift64*), so the file never changes by accident.
struct Noise(u64);

impl Noise {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        bits as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Two replicas of the hamster demo, sampled every 10 minutes for 4 days: each burns about half
/// a core, a little more in the (UTC) daytime, with a working set around 300 MiB that swells
/// during the day. The second replica is OOM-killed once, at 400 MiB, on the third afternoon.
fn hamster_csv() -> String {
    let mut out =
        String::from("timestamp,namespace,workload,pod,container,cpu_cores,memory_bytes,oom\n");
    let mut noise = Noise(0x5eed_cafe_f00d_0001);
    let oom_at = START + 2 * 86_400 + 15 * 3600;
    for step in 0..DAYS * 86_400 / STEP {
        let t = START + step * STEP;
        let day_phase = (t % 86_400) as f64 / 86_400.0 * std::f64::consts::TAU;
        let daytime = (day_phase - std::f64::consts::FRAC_PI_2).sin().max(0.0);
        for (i, pod) in PODS.iter().enumerate() {
            let cpu = 0.48 + 0.06 * daytime + 0.03 * noise.next() + 0.01 * i as f64;
            let memory = (300.0 + 30.0 * daytime + 8.0 * noise.next()) * MIB;
            let oom = i == 1 && t == oom_at;
            let (memory, flag) = if oom {
                (400.0 * MIB, "true")
            } else {
                (memory, "")
            };
            let stamp = chrono::DateTime::from_timestamp(t, 0).unwrap();
            writeln!(
                out,
                "{},default,hamster,{pod},hamster,{cpu:.3},{},{flag}",
                stamp.format("%Y-%m-%dT%H:%M:%SZ"),
                memory.round() as i64
            )
            .unwrap();
        }
    }
    out
}

#[test]
fn shipped_hamster_csv_is_what_the_generator_writes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/samples/hamster.csv");
    let generated = hamster_csv();
    if std::env::var_os("VPA_REGENERATE_SAMPLES").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap();
    assert!(
        shipped == generated,
        "{} differs from its generator; regenerate with VPA_REGENERATE_SAMPLES=1",
        path.display()
    );
}
