//! The HTTP API, end to end over a real socket, on SQLite and PostgreSQL.
//! One test binary; every test gets its own server and its own database.

mod attachments;
mod auth;
mod automations;
mod backup;
mod cli;
mod cluster;
mod contacts;
mod conversation_tags;
mod conversations;
mod data_requests;
mod email;
mod helpers;
mod hostile;
mod jobs;
mod knowledge;
mod live;
mod messages;
mod operations;
mod people;
mod ratings;
mod reports;
mod retention;
mod saved_replies;
mod session;
mod smtp;
mod team;
mod team_notices;
mod webhooks;
mod widget;
mod widget_support;
