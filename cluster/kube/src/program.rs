//! One control-plane program running as a child process: its output in a log file, stopped
//! (SIGTERM, then SIGKILL after a grace period) when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a program gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// A running program.
pub struct Program {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Program {
    /// Starts `binary` with `args`, logging to `<log_dir>/<name>.log`.
    pub fn start(
        name: &str,
        binary: &Path,
        args: Vec<String>,
        log_dir: &Path,
    ) -> std::io::Result<Program> {
        let log = log_dir.join(format!("{name}.log"));
        let out = File::create(&log)?;
        let err = out.try_clone()?;
        let child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot start {}: {e}", binary.display()))
            })?;
        Ok(Program {
            name: name.to_string(),
            child: Some(child),
            log,
        })
    }

    /// The program's name (`etcd`, `kube-apiserver`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// `Err` with the end of its log when the program has exited.
    pub fn check_running(&mut self) -> Result<(), String> {
        let exited = match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => return Ok(()),
            Some(Ok(Some(status))) => status.to_string(),
            Some(Err(e)) => e.to_string(),
            None => "stopped".to_string(),
        };
        Err(format!(
            "{} exited ({exited}); the end of {}:\n{}",
            self.name,
            self.log.display(),
            self.log_tail(40)
        ))
    }

    /// Stops the program: SIGTERM, and SIGKILL if it is still running after the grace period.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.stop();
    }
}
