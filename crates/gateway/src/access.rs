//! Who may see which upstream: the [`Caller`] the authenticating layer puts into the request
//! extensions, checked against each upstream's `required_scopes`.
//!
//! The gateway depends on no authorization crate: whatever verifies the caller's token (in
//! `switchyard serve`, the bearer layer of `switchyard-auth`) inserts a [`Caller`] into the
//! HTTP request extensions, which reach the gateway through
//! [`RequestContext::extensions`](switchyard_server::RequestContext::extensions). A request
//! without one is anonymous and sees only upstreams without `required_scopes`, unless the
//! gateway was told that authorization is off ([`Gateway::set_open_access`](crate::Gateway::set_open_access)).

use switchyard_server::RequestContext;

/// The authenticated caller of a request, as far as the gateway needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's subject (a user, or a client for machine grants).
    pub subject: String,
    /// The scopes the token carries.
    pub scopes: Vec<String>,
}

impl Caller {
    /// A caller with these scopes.
    pub fn new(subject: impl Into<String>, scopes: Vec<String>) -> Self {
        Self {
            subject: subject.into(),
            scopes,
        }
    }

    /// Whether the caller holds every scope in `required`.
    pub fn has_all(&self, required: &[String]) -> bool {
        required.iter().all(|r| self.scopes.iter().any(|s| s == r))
    }
}

/// What one request may see.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Access<'a> {
    /// Authorization is off: everything.
    All,
    /// An authenticated caller: upstreams whose required scopes it holds.
    Caller(&'a Caller),
    /// No caller: only upstreams without required scopes.
    Anonymous,
}

impl<'a> Access<'a> {
    /// The access of the request in `ctx`.
    pub(crate) fn of(ctx: &'a RequestContext, open: bool) -> Self {
        if open {
            return Self::All;
        }
        match ctx.extensions().get::<Caller>() {
            Some(c) => Self::Caller(c),
            None => Self::Anonymous,
        }
    }

    /// Whether an upstream with these required scopes is visible.
    pub(crate) fn allows(&self, required: &[String]) -> bool {
        if required.is_empty() {
            return true;
        }
        match self {
            Self::All => true,
            Self::Caller(c) => c.has_all(required),
            Self::Anonymous => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_scopes_must_all_be_held() {
        let c = Caller::new("u", vec!["files:read".into(), "mcp:read".into()]);
        let need = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(Access::Caller(&c).allows(&need(&["files:read"])));
        assert!(!Access::Caller(&c).allows(&need(&["files:read", "files:write"])));
        assert!(Access::Caller(&c).allows(&[]));
        assert!(!Access::Anonymous.allows(&need(&["files:read"])));
        assert!(Access::Anonymous.allows(&[]));
        assert!(Access::All.allows(&need(&["anything"])));
    }
}
