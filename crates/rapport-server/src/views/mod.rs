//! Shapes of stored data as an edge shows them, for more than one edge
//! (an HTTP handler and a live socket) to share.

pub mod visitor;
