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
    binary: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

impl Program {
    /// Starts `binary` with `args`, logging to `<log_dir>/<name>.log` (appended, so a restart
    /// keeps the earlier output).
    pub fn start(
        name: &str,
        binary: &Path,
        args: Vec<String>,
        log_dir: &Path,
    ) -> std::io::Result<Program> {
        let mut p = Program {
            name: name.to_string(),
            binary: binary.to_path_buf(),
            args,
            child: None,
            log: log_dir.join(format!("{name}.log")),
        };
        p.spawn()?;
        Ok(p)
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        let out = File::options().create(true).append(true).open(&self.log)?;
        let err = out.try_clone()?;
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot start {}: {e}", self.binary.display()),
                )
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// The program's name (`etcd`, `kube-apiserver`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
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

    /// Kills the program at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the program again with the same arguments (after [`Program::stop`] or
    /// [`Program::kill`]; stops it first if it still runs).
    pub fn restart(&mut self) -> std::io::Result<()> {
        self.stop();
        self.spawn()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.stop();
    }
}
