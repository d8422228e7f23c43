//! A measured binary as a child process: started with its flags and environment, stdout and
//! stderr in a log file (or stderr piped to the caller), its `/proc` stats on demand, killed when
//! dropped. Edge.

use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

use crate::proc_stats::{self, ProcStats};

/// A running binary.
pub struct Measured {
    child: Child,
    log: PathBuf,
}

/// Where the child's stderr goes.
pub enum Stderr {
    /// Into the log file, with stdout.
    Log,
    /// To a pipe the caller reads ([`Measured::take_stderr`]); stdout still goes to the log.
    Piped,
}

impl Measured {
    /// Starts `binary` with `args` and `env`, logging into `log`.
    pub fn start(
        binary: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
        stderr: Stderr,
    ) -> anyhow::Result<Measured> {
        let out = std::fs::File::create(log)?;
        let err = match stderr {
            Stderr::Log => Stdio::from(out.try_clone()?),
            Stderr::Piped => Stdio::piped(),
        };
        let mut cmd = Command::new(binary);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting {}: {e}", binary.display()))?;
        Ok(Measured {
            child,
            log: log.to_path_buf(),
        })
    }

    /// The piped stderr, once.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// RSS, peak RSS and CPU now.
    pub fn stats(&self) -> ProcStats {
        proc_stats::read(self.pid())
    }

    /// An error with the end of its log if it has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => anyhow::bail!(
                "{} exited ({status}); end of its log:\n{}",
                self.log.display(),
                self.log_tail(30)
            ),
        }
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Kills it and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Measured {
    fn drop(&mut self) {
        self.stop();
    }
}
