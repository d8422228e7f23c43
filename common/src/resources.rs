//! Resource amounts in the VPA's integer units (pure): CPU in millicores, everything else
//! (memory) in bytes, as upstream's `ResourceAmount`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as K8sQuantity;

use crate::api::ResourceList;
use crate::quantity::{Quantity, QuantityError};

/// The CPU resource name.
pub const CPU: &str = "cpu";
/// The memory resource name.
pub const MEMORY: &str = "memory";

/// Largest amount the VPA works with (1e14 millicores or bytes), as upstream.
pub const MAX_AMOUNT: i64 = 100_000_000_000_000;

/// Integer amounts per resource: millicores for `cpu`, bytes for `memory`.
pub type Amounts = BTreeMap<String, i64>;

/// The amount of `q` in the VPA's unit for `resource` (millicores for CPU, else whole units),
/// rounded up.
pub fn amount(resource: &str, q: &K8sQuantity) -> Result<i64, QuantityError> {
    let q: Quantity = q.0.parse()?;
    Ok(if resource == CPU {
        q.millis_ceil()
    } else {
        q.units_ceil()
    })
}

/// The quantity for `amount` of `resource`: CPU as millicores (`500m`), memory in binary form
/// (`250Mi`) when exact.
pub fn quantity(resource: &str, amount: i64) -> K8sQuantity {
    if resource == CPU {
        Quantity::from_millis(amount).into()
    } else {
        Quantity::from_bytes(amount).into()
    }
}

/// Converts a ResourceList into integer amounts, failing on the first unparsable quantity.
pub fn amounts(list: &ResourceList) -> Result<Amounts, QuantityError> {
    list.iter()
        .map(|(name, q)| Ok((name.clone(), amount(name, q)?)))
        .collect()
}

/// Converts integer amounts into a ResourceList.
pub fn resource_list(amounts: &Amounts) -> ResourceList {
    amounts
        .iter()
        .map(|(name, a)| (name.clone(), quantity(name, *a)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_millicores_and_memory_is_bytes() {
        assert_eq!(amount(CPU, &K8sQuantity("0.5".into())).unwrap(), 500);
        assert_eq!(
            amount(MEMORY, &K8sQuantity("250Mi".into())).unwrap(),
            262_144_000
        );
        assert_eq!(quantity(CPU, 587).0, "587m");
        assert_eq!(quantity(MEMORY, 262_144_000).0, "250Mi");
    }

    #[test]
    fn lists_convert_both_ways() {
        let list: ResourceList = [
            ("cpu".to_string(), K8sQuantity("1500m".into())),
            ("memory".to_string(), K8sQuantity("1Gi".into())),
        ]
        .into();
        let a = amounts(&list).unwrap();
        assert_eq!(a["cpu"], 1500);
        assert_eq!(resource_list(&a), list);
    }
}
