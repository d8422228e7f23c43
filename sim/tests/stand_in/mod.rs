//! Stand-in processes of the `cluster_*` tests: shell scripts and a Python server listening like
//! our components (the sim and its cluster come from `vpa_test_support::sim_cluster`).

#![allow(dead_code)]

/// Writes an executable `#!/bin/sh` script `name` with `body` into `dir`.
#[cfg(unix)]
pub fn script(dir: &std::path::Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A stand-in component in Python that listens like ours: its admin server on `--address`
/// (HOST:PORT) and its webhook port on `0.0.0.0:--port`, both answering `GET /` with `$HOSTNAME`,
/// `/readyz` 200 only while `$CONTROL_DIR/ready` exists and `/healthz` 500 while
/// `$CONTROL_DIR/sick` exists. Exits when a port is taken.
pub const PYTHON_STAND_IN: &str = r#"
import os, socketserver, sys, threading
from http.server import BaseHTTPRequestHandler
args = sys.argv[1:]
def flag(name, default):
    for i, a in enumerate(args):
        if a.startswith(name + '='):
            return a.split('=', 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return default
host, port = flag('--address', ':8944').rsplit(':', 1)
webhook = int(flag('--port', '8000'))
ctl = os.environ.get('CONTROL_DIR', '/nonexistent')
me = os.environ.get('HOSTNAME', '?').encode()
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        ok = True
        if self.path == '/readyz':
            ok = os.path.exists(os.path.join(ctl, 'ready'))
        elif self.path == '/healthz':
            ok = not os.path.exists(os.path.join(ctl, 'sick'))
        self.send_response(200 if ok else 500)
        self.send_header('Content-Length', str(len(me)))
        self.end_headers()
        self.wfile.write(me)
    def log_message(self, *a):
        pass
class S(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
admin = S((host or '0.0.0.0', int(port)), H)
hook = S(('0.0.0.0', webhook), H)
print('serving', host, port, webhook, flush=True)
threading.Thread(target=hook.serve_forever, daemon=True).start()
admin.serve_forever()
"#;

/// Installs [`PYTHON_STAND_IN`] as `name` in `dir` when python3 is available (None, after saying
/// why, outside CI).
#[cfg(unix)]
pub fn python_stand_in(dir: &std::path::Path, name: &str) -> Option<()> {
    let python = vpa_e2e::require_tool("python3", &["python3", "/usr/bin/python3"])?;
    std::fs::write(dir.join("stand_in.py"), PYTHON_STAND_IN).unwrap();
    script(
        dir,
        name,
        &format!(
            "exec {} {} \"$@\"",
            python.display(),
            dir.join("stand_in.py").display()
        ),
    );
    Some(())
}
