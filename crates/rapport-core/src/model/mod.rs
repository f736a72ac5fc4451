//! The data and its rules: no I/O, no ports.

pub mod activity;
pub mod agent;
pub mod attachment;
pub mod automation;
pub mod bot;
pub mod bulk;
pub mod contact;
pub mod conversation;
pub mod email;
pub mod erasure;
pub mod filter;
pub mod ids;
pub mod job;
pub mod knowledge;
pub mod people;
pub mod rating;
pub mod report;
pub mod saved_reply;
pub mod search;
pub mod teams;
pub mod template;
pub mod time;
pub mod validation;
pub mod visitor;
pub mod webhook;
pub mod workspace;
