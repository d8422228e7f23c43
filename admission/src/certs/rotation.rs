//! When and how the certificates change (pure): serving-certificate renewal and the two-phase
//! CA rotation.
//!
//! A CA rotation must never serve a certificate that kube-apiserver does not trust yet, and
//! kube-apiserver only learns a new CA from the registered `caBundle`, some time after it is
//! written. So a rotation runs in steps, one per call of [`CertBundle::renewal`], each stored in
//! the Secret before the next:
//!
//! 1. **Stage.** The current CA has less than `ca_renew_before` left: a next CA is generated and
//!    added to the bundle. The served certificate is unchanged (still signed by the current CA).
//! 2. **Seen.** The next CA is found in the registered `caBundle`: the time is recorded
//!    (`published_since`). Should it disappear from there again, the record is cleared and the
//!    wait starts over.
//! 3. **Promote.** It has been registered for `ca_propagation`: the next CA becomes the current
//!    one and signs a new serving certificate, and the replaced CA is kept as the previous one,
//!    still in the bundle, until it expires (replicas that have not reloaded yet still serve a
//!    certificate it signed).

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use time::OffsetDateTime;

use super::{CertBundle, CertError, StagedCa, Validity, generate_ca, parse, sign_server_cert};

/// What is known of the `caBundle` kube-apiserver trusts, to decide when a staged CA may sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published<'a> {
    /// This process does not register the webhook, so it cannot tell: a staged CA counts as
    /// registered from the moment it is stored, and signs `ca_propagation` later.
    Untracked,
    /// The `caBundle` registered now (PEM; empty when the webhook is not registered).
    Bundle(&'a str),
}

impl Published<'_> {
    /// Whether the CA certificate `pem` is in the registered bundle (compared as DER, so that
    /// whitespace or order do not matter).
    fn contains(&self, pem: &str) -> bool {
        let Published::Bundle(bundle) = self else {
            return true;
        };
        let Some(Ok(wanted)) = CertificateDer::pem_slice_iter(pem.as_bytes()).next() else {
            return false;
        };
        CertificateDer::pem_slice_iter(bundle.as_bytes())
            .filter_map(Result::ok)
            .any(|c| c == wanted)
    }
}

impl CertBundle {
    /// The bundle to store at `now`, or `None` when this one is still good.
    ///
    /// In order: an expired previous CA is dropped; a CA rotation moves one step (see the module
    /// documentation; `published` is what kube-apiserver trusts now); a serving certificate that
    /// nears expiry or lacks one of `dns_names` is reissued by the CA that signs now. A CA that
    /// has already expired is replaced at once (nothing served can be trusted anyway).
    pub fn renewal(
        &self,
        dns_names: &[String],
        now: OffsetDateTime,
        validity: Validity,
        published: Published<'_>,
    ) -> Result<Option<Self>, CertError> {
        if self.ca_not_after()? <= now {
            return Self::generate(dns_names, now, validity).map(Some);
        }
        let mut next = self.clone();
        if let Some(prev) = &self.previous_ca_cert_pem
            && parse(prev).map(|p| p.not_after <= now).unwrap_or(true)
        {
            next.previous_ca_cert_pem = None;
        }
        match &self.next_ca {
            None if self.ca_not_after()? - now < validity.ca_renew_before => {
                let (cert_pem, key_pem) = generate_ca(now, validity)?;
                let seen = published.contains(&cert_pem);
                next.next_ca = Some(StagedCa {
                    cert_pem,
                    key_pem,
                    published_since: seen.then_some(now),
                });
            }
            None => {}
            Some(staged) => {
                let seen = published.contains(&staged.cert_pem);
                match staged.published_since {
                    Some(since) if seen && now - since >= validity.ca_propagation => {
                        return next.promote(dns_names, now, validity).map(Some);
                    }
                    Some(_) if !seen => set_published_since(&mut next, None),
                    None if seen => set_published_since(&mut next, Some(now)),
                    _ => {}
                }
            }
        }
        let server_due = self.server_not_after()? - now < validity.server_renew_before;
        if server_due || !self.server_names_match(dns_names)? {
            (next.server_cert_pem, next.server_key_pem) = sign_server_cert(
                &self.ca_cert_pem,
                &self.ca_key_pem,
                dns_names,
                now,
                validity,
            )?;
        }
        Ok((next != *self).then_some(next))
    }

    /// The staged CA becomes the current one and signs a new serving certificate; the current
    /// CA becomes the previous one.
    fn promote(
        mut self,
        dns_names: &[String],
        now: OffsetDateTime,
        validity: Validity,
    ) -> Result<Self, CertError> {
        let staged = self
            .next_ca
            .take()
            .expect("promote is called with a staged CA");
        let (cert, key) =
            sign_server_cert(&staged.cert_pem, &staged.key_pem, dns_names, now, validity)?;
        let old = std::mem::replace(&mut self.ca_cert_pem, staged.cert_pem);
        self.ca_key_pem = staged.key_pem;
        self.previous_ca_cert_pem = Some(old);
        self.server_cert_pem = cert;
        self.server_key_pem = key;
        Ok(self)
    }
}

fn set_published_since(bundle: &mut CertBundle, since: Option<OffsetDateTime>) {
    if let Some(staged) = bundle.next_ca.as_mut() {
        staged.published_since = since;
    }
}

#[cfg(test)]
mod tests;
