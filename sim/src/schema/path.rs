//! Field paths (`spec.containers[0].name`) as validation and duplicate detection report them,
//! kept as a chain of borrowed parts and rendered only when something is reported: building the
//! string for every field of every write was a large part of a write's cost. Pure.

use std::fmt;

/// Where a value sits in a request body.
#[derive(Clone, Copy)]
pub(super) enum Path<'a> {
    /// The body itself.
    Root,
    /// A field of the object at the parent path.
    Field(&'a Path<'a>, &'a str),
    /// An item of the array at the parent path.
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(Path::Root, key) => f.write_str(key),
            Path::Field(parent, key) => write!(f, "{parent}.{key}"),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_kubernetes_field_paths() {
        let spec = Path::Field(&Path::Root, "spec");
        let containers = Path::Field(&spec, "containers");
        let first = Path::Index(&containers, 0);
        assert_eq!(
            Path::Field(&first, "name").to_string(),
            "spec.containers[0].name"
        );
        assert_eq!(Path::Index(&Path::Root, 2).to_string(), "[2]");
        assert_eq!(Path::Root.to_string(), "");
    }
}
