//! vpa-sim: an in-memory Kubernetes API server and small cluster simulator (see issue 4/5).
