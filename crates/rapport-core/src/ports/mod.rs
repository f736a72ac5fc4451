//! What the domain needs from outside: implemented by `rapport-store` (the
//! store traits) and `rapport-server` (the bus), with a wall clock here.

pub mod bus;
pub mod clock;
pub mod knowledge;
pub mod store;
pub mod writer;
