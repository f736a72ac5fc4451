//! Contact import: a CSV body, read as it streams in and upserted row by
//! row, answered with a stream of JSON lines (per-row errors, progress,
//! and the totals). Rows are never all in memory: a bounded number are in
//! flight, and the upload is read only as fast as they are stored.
//!
//! Everything read is bounded: the body to `import_body_limit`, a row to
//! [`MAX_ROW_BYTES`] and [`MAX_CELLS`] ([`RowGuard`] cuts the upload into
//! rows before the CSV reader sees it, so a longer row is never held).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::HeaderMap;
use futures::{SinkExt, Stream, StreamExt, TryStreamExt};
use rapport_core::model::contact::{
    ContactUpsert, ContactUpsertInput, PropType, PropTypes, PropValue, parse_prop_name, parse_tag,
    system_property,
};
use rapport_core::model::ids::WorkspaceId;
use rapport_core::model::validation::FieldError;
use rapport_core::services;
use serde_json::{Value as Json_, json};

use crate::AppState;
use crate::error::{ApiError, Problem};
use crate::extract::{Auth, declared_length, drain};

/// The most rows stored in one write (two such batches are in flight).
const BATCH: usize = rapport_core::ports::store::MAX_UPSERT_BATCH;
/// The longest a row waits for others to fill its batch.
const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(20);
/// A progress line every this many rows.
const PROGRESS_EVERY: u64 = 1_000;
/// The most errors listed (all are counted).
const MAX_ERRORS: u64 = 1_000;
/// The longest row read; a longer one is skipped, and listed as an error.
pub const MAX_ROW_BYTES: usize = 64 * 1024;
/// The most cells in a row (a workspace has at most 1,000 custom
/// properties); a row with more is skipped, and listed as an error.
pub const MAX_CELLS: usize = 2_000;
/// The route, for the layers that treat its streamed body apart.
pub const IMPORT_PATH: &str = "/api/v1/contacts/import";

/// Where a byte of the upload falls, by csv-core's rules for the reader's
/// settings (`,` between cells, `"` quoting and doubled to escape, CR, LF
/// or CRLF ending a row; a quote inside an unquoted cell is a character).
#[derive(Clone, Copy, PartialEq, Eq)]
enum CsvPlace {
    CellStart,
    Unquoted,
    Quoted,
    /// A quote inside quotes: the end of the quoting, or the first half of
    /// an escaped quote.
    QuoteInQuoted,
}

/// Why an upload is refused as a whole.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Header(String),
}

/// Rows skipped for their size: (their record number, the header being
/// 0; why), in file order.
type Skipped = Arc<Mutex<VecDeque<(u64, String)>>>;

/// Cuts the upload into whole rows as it streams in, before the CSV reader
/// sees it, so no row is held beyond [`MAX_ROW_BYTES`]. A longer row (or
/// one of more than [`MAX_CELLS`] cells) is dropped as it arrives and
/// stands in the CSV as one quoted cell of its line breaks alone (so the
/// reader still counts its lines), noted in `skipped` by its record number.
/// The header row is never dropped: over a limit it fails the import. The
/// whole body stops at `limit` bytes.
struct RowGuard {
    place: CsvPlace,
    /// The row being read, until it ends or grows too long.
    row: Vec<u8>,
    cells: usize,
    /// Set while a row found too large is being dropped.
    dropping: bool,
    /// Rows (records, for the CSV reader) passed on so far.
    records: u64,
    read: usize,
    limit: usize,
    skipped: Skipped,
}

impl RowGuard {
    fn new(limit: usize) -> Self {
        Self {
            place: CsvPlace::CellStart,
            row: Vec::new(),
            cells: 1,
            dropping: false,
            records: 0,
            read: 0,
            limit,
            skipped: Skipped::default(),
        }
    }

    /// Takes the next part of the upload; returns the whole rows it ends.
    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<u8>, Refusal> {
        self.read += chunk.len();
        if self.read > self.limit {
            return Err(Refusal::TooLarge(self.limit));
        }
        let mut out = Vec::new();
        for &byte in chunk {
            let ends_row = match (self.place, byte) {
                (CsvPlace::Quoted, b'"') => {
                    self.place = CsvPlace::QuoteInQuoted;
                    false
                }
                (CsvPlace::Quoted, _) => false,
                (CsvPlace::QuoteInQuoted, b'"') | (CsvPlace::CellStart, b'"') => {
                    self.place = CsvPlace::Quoted;
                    false
                }
                (_, b',') => {
                    self.place = CsvPlace::CellStart;
                    self.cells += 1;
                    false
                }
                (_, b'\n' | b'\r') => {
                    self.place = CsvPlace::CellStart;
                    true
                }
                _ => {
                    self.place = CsvPlace::Unquoted;
                    false
                }
            };
            if ends_row {
                if self.dropping {
                    out.push(b'"');
                } else if !self.row.is_empty() {
                    self.records += 1;
                    out.append(&mut self.row);
                }
                out.push(byte);
                self.dropping = false;
                self.cells = 1;
                continue;
            }
            if self.dropping {
                if byte == b'\n' {
                    out.push(byte);
                }
                continue;
            }
            self.row.push(byte);
            let why = if self.row.len() > MAX_ROW_BYTES {
                format!("is longer than {MAX_ROW_BYTES} bytes")
            } else if self.cells > MAX_CELLS {
                format!("has more than {MAX_CELLS} cells")
            } else {
                continue;
            };
            if self.records == 0 {
                return Err(Refusal::Header(why));
            }
            self.skipped
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push_back((self.records, format!("the row {why}; it was skipped")));
            self.records += 1;
            // The stand-in: a quoted cell of the row's line breaks.
            out.push(b'"');
            out.extend(self.row.iter().filter(|b| **b == b'\n'));
            self.row = Vec::new();
            self.dropping = true;
        }
        Ok(out)
    }

    /// The last row, when the upload does not end with a line break.
    fn finish(&mut self) -> Vec<u8> {
        if self.dropping {
            vec![b'"']
        } else {
            std::mem::take(&mut self.row)
        }
    }
}

/// Why the row with record number `record` was skipped, if it was (its
/// stand-in then holds nothing to import).
fn skipped_row(skipped: &Skipped, record: u64) -> Option<String> {
    let mut skipped = skipped.lock().unwrap_or_else(PoisonError::into_inner);
    match skipped.front() {
        Some((at, _)) if *at == record => skipped.pop_front().map(|(_, why)| why),
        _ => None,
    }
}

/// The body as whole rows within the limits of a [`RowGuard`]; an error
/// (a refusal, the body timeout, a broken upload) ends it.
fn guarded_rows(body: Body, guard: RowGuard) -> impl Stream<Item = io::Result<Bytes>> {
    let chunks = body.into_data_stream();
    futures::stream::unfold(Some((chunks, guard)), |state| async move {
        let (mut chunks, mut guard) = state?;
        loop {
            match chunks.next().await {
                Some(Ok(chunk)) => match guard.feed(&chunk) {
                    // An empty part would read as the end of the upload.
                    Ok(rows) if rows.is_empty() => continue,
                    Ok(rows) => return Some((Ok(Bytes::from(rows)), Some((chunks, guard)))),
                    Err(refusal) => {
                        drain(&mut chunks).await;
                        return Some((Err(io::Error::other(refusal)), None));
                    }
                },
                Some(Err(err)) => return Some((Err(io::Error::other(err)), None)),
                None => {
                    let last = guard.finish();
                    return (!last.is_empty()).then(|| (Ok(Bytes::from(last)), None));
                }
            }
        }
    })
}

/// What ended an upload early, as the caller is told it.
fn cut_short(err: &io::Error) -> ApiError {
    match err.get_ref() {
        Some(inner) if crate::error::is_body_timeout(inner) => ApiError::RequestTimeout,
        Some(inner) => match inner.downcast_ref::<Refusal>() {
            Some(Refusal::TooLarge(limit)) => ApiError::PayloadTooLarge(*limit),
            Some(Refusal::Header(why)) => {
                ApiError::field("header", format!("the header row {why}"))
            }
            None => ApiError::BadRequest(format!("the body could not be read: {inner}")),
        },
        None => ApiError::BadRequest(format!("the body could not be read: {err}")),
    }
}

/// One line of the upload, as read.
enum Row {
    Upsert(Box<ContactUpsert>),
    Invalid(Vec<FieldError>),
    /// The upload ended early (too large, too slow, broken): the rest is
    /// not imported.
    CutShort(ApiError),
}

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

/// What became of a row: its line, then what storing it came to (`None`
/// when the upload was cut short there, with why).
type Stored = (u64, Option<Result<bool, Vec<FieldError>>>, Option<ApiError>);

/// Stores a batch of rows in file order; one result per row.
async fn store_rows(state: &AppState, ws: WorkspaceId, chunk: Vec<(u64, Row)>) -> Vec<Stored> {
    use rapport_core::ports::store::StoreError;
    let mut upserts = Vec::new();
    // Each row's line, and the row unless it went to the store.
    let rows: Vec<(u64, Option<Row>)> = chunk
        .into_iter()
        .map(|(line, row)| match row {
            Row::Upsert(upsert) => {
                upserts.push(*upsert);
                (line, None)
            }
            other => (line, Some(other)),
        })
        .collect();
    let mut written = services::contacts::upsert_contacts(state.deps(), ws, upserts)
        .await
        .into_iter();
    rows.into_iter()
        .map(|(line, row)| match row {
            Some(Row::CutShort(why)) => (line, None, Some(why)),
            Some(Row::Invalid(errors)) => (line, Some(Err(errors)), None),
            Some(Row::Upsert(_)) | None => {
                let result = written
                    .next()
                    .unwrap_or_else(|| Err(StoreError::Other("the row was not stored".into())))
                    .map_err(|e| match e {
                        StoreError::Invalid(invalid) => invalid.0,
                        other => vec![FieldError {
                            field: "row".into(),
                            message: other.to_string(),
                        }],
                    });
                (line, Some(result), None)
            }
        })
        .collect()
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
        (status = 200, description = "JSON lines: `error` (line, field, message; a row longer than 64 KiB or of more than 2,000 cells is skipped as an error of field `row`; an upload cut short by the size limit or the body timeout ends with an error of field `body`), `progress`, and a final `done` with the totals", content_type = "application/x-ndjson"),
        (status = 422, description = "A bad header row (one longer than 64 KiB or of more than 2,000 cells included); nothing was imported", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    Auth(principal): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ws = principal.workspace_id;
    let limit = state.import_body_limit;
    if declared_length(&headers).is_some_and(|length| length > limit as u64) {
        drain(&mut body.into_data_stream()).await;
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let guard = RowGuard::new(limit);
    let skipped = guard.skipped.clone();
    let bytes = Box::pin(guarded_rows(body, guard)).into_async_read();
    let mut reader = csv_async::AsyncReaderBuilder::new()
        .flexible(true)
        .trim(csv_async::Trim::Headers)
        .create_reader(bytes);
    let header = match reader.headers().await {
        Ok(header) => header.clone(),
        Err(err) => {
            return Err(match err.kind() {
                csv_async::ErrorKind::Io(io) => cut_short(io),
                _ => ApiError::field("header", format!("is not a CSV header row: {err}")),
            });
        }
    };
    let types = state.store.property_types(ws).await?;
    let columns = columns(&header, &types)?;

    let (mut lines, body) = futures::channel::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let mut totals = Totals::default();
        let mut listed = 0;
        // (line, row), in file order.
        let rows = reader.into_records().map(move |record| match record {
            Ok(record) => {
                let position = record.position();
                let line = position.map_or(0, |p| p.line());
                let stand_in = position.and_then(|p| skipped_row(&skipped, p.record()));
                let row = match (stand_in, row_upsert(ws, &columns, &record)) {
                    (Some(why), _) => Row::Invalid(vec![FieldError {
                        field: "row".into(),
                        message: why,
                    }]),
                    (None, Ok(upsert)) => Row::Upsert(Box::new(upsert)),
                    (None, Err(errors)) => Row::Invalid(errors),
                };
                (line, row)
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                let row = match err.kind() {
                    csv_async::ErrorKind::Io(io) => Row::CutShort(cut_short(io)),
                    _ => Row::Invalid(vec![FieldError {
                        field: "row".into(),
                        message: err.to_string(),
                    }]),
                };
                (line, row)
            }
        });
        // Rows go to the store in batches of BATCH, or of what has come in
        // a short wait on a slow upload; two in flight, so the next is
        // parsed while one is written.
        let stored = tokio_stream::StreamExt::chunks_timeout(rows, BATCH, BATCH_WAIT)
            .map(move |chunk| {
                let state = state.clone();
                async move { store_rows(&state, ws, chunk).await }
            })
            .buffered(2)
            .flat_map(futures::stream::iter);
        futures::pin_mut!(stored);
        while let Some((line, result, cut)) = stored.next().await {
            let Some(result) = result else {
                // Nothing after this line is read; what came before stays.
                let why = cut.map_or_else(String::new, |why| why.to_string());
                let line = json!({"type": "error", "line": line, "field": "body",
                                  "message": format!("{why}: nothing from here on was imported")});
                if lines.send(Ok(ndjson(&line))).await.is_err() {
                    return;
                }
                break;
            };
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
