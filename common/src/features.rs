//! The `--feature-gates` flag every component takes (pure): upstream's alpha gates, parsed as
//! Kubernetes' component-base does.
//!
//! `Name=bool` pairs are comma-separated; a value is any of Go's `strconv.ParseBool` spellings
//! (`true`, `1`, `t`, `TRUE`, ...). `AllAlpha=bool` sets every alpha gate the list does not name
//! itself, and `AllBeta` does the same for beta gates (there are none). An unknown name is an error,
//! so a typo stops the component at start instead of silently leaving a feature off.

/// Alpha features, all off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeatureGates {
    /// `InPlace`: the `InPlace` update mode.
    pub in_place: bool,
    /// `PerVPAConfig`: per-VPA OOM and memory aggregation settings in container policies, and
    /// `updatePolicy.evictAfterOOMSeconds`.
    pub per_vpa_config: bool,
    /// `CPUStartupBoost`: startup boost policies.
    pub cpu_startup_boost: bool,
    /// `NativeSidecar`: native sidecars (init containers with `restartPolicy: Always`) get
    /// recommendations and are patched like containers. Not in upstream 1.7.1: upstream's
    /// AEP-8905 adds it under this name, alpha and off by default, so 1.7.1's behaviour (init
    /// containers of every kind ignored) stays the default.
    pub native_sidecar: bool,
}

/// Switches one gate of a [`FeatureGates`].
type Setter = fn(&mut FeatureGates, bool);

/// The gates by name, with their setters (all alpha).
const ALPHA: [(&str, Setter); 4] = [
    ("InPlace", |g, on| g.in_place = on),
    ("PerVPAConfig", |g, on| g.per_vpa_config = on),
    ("CPUStartupBoost", |g, on| g.cpu_startup_boost = on),
    ("NativeSidecar", |g, on| g.native_sidecar = on),
];

impl FeatureGates {
    /// Parses `Name=true,Other=false`; unknown names and values that are not booleans are errors.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut gates = Self::default();
        let mut named = Vec::new();
        let mut all_alpha = None;
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) = item
                .split_once('=')
                .ok_or_else(|| format!("missing bool value for {item}"))?;
            let (name, value) = (name.trim(), value.trim());
            let on = crate::go_flags::parse_go_bool(value)
                .ok_or_else(|| format!("invalid value of {name}={value}"))?;
            match name {
                "AllAlpha" => all_alpha = Some(on),
                "AllBeta" => {}
                _ => {
                    let (_, set) = ALPHA
                        .iter()
                        .find(|(known, _)| *known == name)
                        .ok_or_else(|| format!("unrecognized feature gate: {name}"))?;
                    set(&mut gates, on);
                    named.push(name);
                }
            }
        }
        if let Some(on) = all_alpha {
            for (name, set) in ALPHA {
                if !named.contains(&name) {
                    set(&mut gates, on);
                }
            }
        }
        Ok(gates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_gates_switch_their_feature_only() {
        let g = FeatureGates::parse("InPlace=true, PerVPAConfig=false").unwrap();
        assert_eq!(
            g,
            FeatureGates {
                in_place: true,
                ..Default::default()
            }
        );
        let g = FeatureGates::parse("NativeSidecar=1,CPUStartupBoost=T").unwrap();
        assert!(g.native_sidecar && g.cpu_startup_boost && !g.in_place && !g.per_vpa_config);
        assert_eq!(FeatureGates::parse("").unwrap(), FeatureGates::default());
    }

    #[test]
    fn all_alpha_sets_the_gates_not_named() {
        let g = FeatureGates::parse("PerVPAConfig=false,AllAlpha=true").unwrap();
        assert!(g.in_place && g.cpu_startup_boost && g.native_sidecar && !g.per_vpa_config);
        assert_eq!(
            FeatureGates::parse("AllBeta=true").unwrap(),
            FeatureGates::default()
        );
    }

    #[test]
    fn unknown_names_and_bad_values_are_errors() {
        let unknown = FeatureGates::parse("Nope=true").unwrap_err();
        assert!(
            unknown.contains("unrecognized feature gate: Nope"),
            "{unknown}"
        );
        assert!(FeatureGates::parse("InPlace=yes").is_err());
        assert!(FeatureGates::parse("InPlace").is_err());
    }
}
