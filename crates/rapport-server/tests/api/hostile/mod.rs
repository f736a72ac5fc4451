//! The hostile-input suite: each numbered point of the security review
//! (docs/security.md) tried as an attacker would, from outside, on both
//! databases. Every test asserts the refusal *and* that nothing changed:
//! no contact re-keyed, no message readable, the server still answering,
//! memory bounded where that is the point.

mod bounds;
mod edges;
mod identity;
mod limits;
