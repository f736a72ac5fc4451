//! Contact import: a CSV body, read as it streams in and upserted row by
//! row, answered with a stream of JSON lines (per-row errors, progress,
//! and the totals). Rows are never all in memory: a bounded number are in
//! flight, and the upload is read only as fast as they are stored.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt, TryStreamExt};
use rapport_core::contact::{
    ContactUpsert, ContactUpsertInput, PropType, PropTypes, PropValue, parse_prop_name, parse_tag,
    system_property,
};
use rapport_core::ids::WorkspaceId;
use rapport_core::people;
use rapport_core::validation::FieldError;
use serde_json::{Value as Json_, json};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::Auth;

/// Rows being stored at once.
const IN_FLIGHT: usize = 64;
/// A progress line every this many rows.
const PROGRESS_EVERY: u64 = 1_000;
/// The most errors listed (all are counted).
const MAX_ERRORS: u64 = 1_000;

/// What a column holds.
#[derive(Clone, Debug)]
enum Column {
    UserId,
    Email,
    Name,
    Phone,
    Tags,
    /// A system or custom property, typed if the workspace knows it.
    Prop(String, Option<PropType>),
}

/// Reads the header row into columns, or says what is wrong with it.
fn columns(header: &csv_async::StringRecord, types: &PropTypes) -> Result<Vec<Column>, ApiError> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim();
        let field = format!("header[{i}]");
        if !seen.insert(name.to_owned()) {
            return Err(ApiError::field(&field, format!("`{name}` is named twice")));
        }
        out.push(match name {
            "user_id" => Column::UserId,
            "email" => Column::Email,
            "name" => Column::Name,
            "phone" => Column::Phone,
            "tags" => Column::Tags,
            "created_at" => {
                return Err(ApiError::field(&field, "created_at is set by Rapport"));
            }
            other => {
                let name = parse_prop_name(other).map_err(|e| ApiError::field(&field, e))?;
                let ty = system_property(&name).or_else(|| types.get(&name).copied());
                Column::Prop(name, ty)
            }
        });
    }
    if !out
        .iter()
        .any(|c| matches!(c, Column::UserId | Column::Email))
    {
        return Err(ApiError::field(
            "header",
            "needs a user_id or an email column to match contacts by",
        ));
    }
    Ok(out)
}

/// One row as an upsert, or its errors.
fn row_upsert(
    workspace: WorkspaceId,
    columns: &[Column],
    row: &csv_async::StringRecord,
) -> Result<ContactUpsert, Vec<FieldError>> {
    let mut input = ContactUpsertInput::default();
    let mut errors = Vec::new();
    let mut tags = Vec::new();
    for (column, cell) in columns.iter().zip(row.iter()) {
        if cell.trim().is_empty() {
            continue;
        }
        let text = Some(cell.trim().to_owned());
        match column {
            Column::UserId => input.user_id = text,
            Column::Email => input.email = text,
            Column::Name => input.name = text,
            Column::Phone => input.phone = text,
            Column::Tags => {
                for tag in cell.split(';').filter(|t| !t.trim().is_empty()) {
                    match parse_tag(tag) {
                        Ok(tag) => tags.push(tag),
                        Err(message) => errors.push(FieldError {
                            field: "tags".into(),
                            message,
                        }),
                    }
                }
            }
            Column::Prop(name, ty) => match PropValue::from_text(cell, *ty) {
                Ok(value) => {
                    input.props.insert(name.clone(), value.to_json());
                }
                Err(message) => errors.push(FieldError {
                    field: name.clone(),
                    message,
                }),
            },
        }
    }
    let parsed = ContactUpsert::parse(workspace, input);
    match (parsed, errors.is_empty()) {
        (Ok(mut upsert), true) => {
            upsert.tags = tags;
            Ok(upsert)
        }
        (Ok(_), false) => Err(errors),
        (Err(invalid), _) => {
            errors.extend(invalid.0.into_iter().map(|mut e| {
                // `props.plan` in the API is the `plan` column here.
                if let Some(column) = e.field.strip_prefix("props.") {
                    e.field = column.to_owned();
                }
                e
            }));
            Err(errors)
        }
    }
}

#[derive(Default)]
struct Totals {
    rows: u64,
    created: u64,
    updated: u64,
    failed: u64,
}

impl Totals {
    fn line(&self, kind: &str) -> Json_ {
        json!({"type": kind, "rows": self.rows, "created": self.created,
               "updated": self.updated, "failed": self.failed})
    }
}

fn ndjson(value: &Json_) -> Bytes {
    let mut line = value.to_string();
    line.push('\n');
    Bytes::from(line)
}

/// The body of an import, as documented: CSV text whose header row the
/// handler checks before reading any row.
pub struct CsvImport;

impl utoipa::PartialSchema for CsvImport {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        crate::openapi::fields::csv().into()
    }
}

impl utoipa::ToSchema for CsvImport {}

#[utoipa::path(post, path = "/contacts/import", tag = "people", security(("bearer" = [])),
    request_body(content = inline(CsvImport), content_type = "text/csv",
        description = "A header row (user_id, email, name, phone, tags, system or custom properties), then one contact per row"),
    responses(
        (status = 200, description = "JSON lines: `error` (line, field, message), `progress`, and a final `done` with the totals", content_type = "application/x-ndjson"),
        (status = 422, description = "A bad header row; nothing was imported", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    Auth(principal): Auth,
    body: Body,
) -> Result<Response, ApiError> {
    let ws = principal.workspace_id;
    let bytes = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .into_async_read();
    let mut reader = csv_async::AsyncReaderBuilder::new()
        .flexible(true)
        .trim(csv_async::Trim::Headers)
        .create_reader(bytes);
    let header = reader
        .headers()
        .await
        .map_err(|e| ApiError::field("header", format!("is not a CSV header row: {e}")))?
        .clone();
    let types = state.store.property_types(ws).await?;
    let columns = columns(&header, &types)?;

    let (mut lines, body) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let mut totals = Totals::default();
        let mut listed = 0;
        // (line, upsert or its errors), in file order, stored IN_FLIGHT at a time.
        let rows = reader.into_records().map(|record| match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                (line, Ok(row_upsert(ws, &columns, &record)))
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                (line, Err(err.to_string()))
            }
        });
        let stored = rows
            .map(|(line, row)| {
                let state = state.clone();
                async move {
                    let result = match row {
                        Err(unreadable) => Err(vec![FieldError {
                            field: "row".into(),
                            message: unreadable,
                        }]),
                        Ok(Err(errors)) => Err(errors),
                        Ok(Ok(upsert)) => people::upsert_contact(state.deps(), upsert)
                            .await
                            .map(|(_, created)| created)
                            .map_err(|e| match e {
                                rapport_core::store::StoreError::Invalid(invalid) => invalid.0,
                                other => vec![FieldError {
                                    field: "row".into(),
                                    message: other.to_string(),
                                }],
                            }),
                    };
                    (line, result)
                }
            })
            .buffered(IN_FLIGHT);
        futures::pin_mut!(stored);
        while let Some((line, result)) = stored.next().await {
            totals.rows += 1;
            let mut out = Vec::new();
            match result {
                Ok(true) => totals.created += 1,
                Ok(false) => totals.updated += 1,
                Err(errors) => {
                    totals.failed += 1;
                    for e in errors.into_iter().take(3) {
                        if listed < MAX_ERRORS {
                            listed += 1;
                            out.push(json!({"type": "error", "line": line,
                                            "field": e.field, "message": e.message}));
                        }
                    }
                }
            }
            if totals.rows % PROGRESS_EVERY == 0 {
                out.push(totals.line("progress"));
            }
            for value in out {
                if lines.send(Ok(ndjson(&value))).await.is_err() {
                    // The client went away; rows stored so far stay.
                    return;
                }
            }
        }
        tracing::info!(
            rows = totals.rows,
            created = totals.created,
            failed = totals.failed,
            "contacts imported"
        );
        let _ = lines.send(Ok(ndjson(&totals.line("done")))).await;
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cells: &[&str]) -> csv_async::StringRecord {
        csv_async::StringRecord::from(cells.to_vec())
    }

    #[test]
    fn a_header_needs_an_identifier_and_no_repeats() {
        let types = PropTypes::new();
        assert!(columns(&record(&["name", "plan"]), &types).is_err());
        assert!(columns(&record(&["email", "plan", "plan"]), &types).is_err());
        assert!(columns(&record(&["email", "bad name"]), &types).is_err());
        assert_eq!(
            columns(&record(&["email", "plan", "tags"]), &types)
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn cells_are_typed_by_the_workspace_and_errors_name_the_column() {
        let types = PropTypes::from([("seats".to_owned(), PropType::Number)]);
        let cols = columns(&record(&["email", "seats", "tags", "last_seen_at"]), &types).unwrap();
        let ws = WorkspaceId::generate();
        let good = row_upsert(ws, &cols, &record(&["a@b.test", "3", "vip;beta", ""])).unwrap();
        assert_eq!(good.tags, ["vip", "beta"]);
        assert_eq!(good.ops.len(), 1);
        let bad = row_upsert(ws, &cols, &record(&["nope", "many", "", "soon"])).unwrap_err();
        let fields: Vec<_> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["seats", "last_seen_at", "email"]);
    }
}
