//! Filters over many contacts, answered from id sets; and the property
//! index those sets read.
//!
//! A count over a million contacts is slow as one SQL condition: it visits
//! every candidate row and tests each condition there (parsing its JSON
//! properties, probing the event summaries). Here each condition of a
//! filter that is a plain "all" of indexed conditions is read as the ids
//! it holds, from one index range, aggregated into one value (one row, not
//! one row per contact); the sets are intersected and subtracted in
//! memory, the count is their size, and the page is read by id (for a
//! large set, after walking the sort order to find its first members).
//!
//! A custom property is in the index once a filter has named it: the
//! search asks for it (`request_property_index`), a job copies the
//! existing contacts' values (`index_property_chunk`), and triggers keep
//! the rows current after that (migration 0012).

use super::*;
use crate::filter_sql::{self, Dialect, SetPlan};
use rapport_core::model::people::{ContactSort, SortValue};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

/// A set's members for the walk's look-ups.
type Members = std::collections::HashSet<u128, foldhash::fast::RandomState>;

/// One set of contact ids, sorted: each id's 16 bytes as a big-endian
/// number, which orders as the bytes do (and as both databases order ids),
/// and compares in one instruction.
type IdSet = Vec<u128>;

/// The aggregate that turns rows into one value: the 16 bytes of each
/// row's `column`, one after the other, in `order` when given (else as the
/// database finds them, which costs either database half as much as
/// ordering a walk's stretch).
fn ids_as_one(column: &str, order: Option<&str>) -> String {
    let order = order
        .map(|by| format!(" ORDER BY {by}"))
        .unwrap_or_default();
    match DIALECT {
        // group_concat copies a blob's bytes as they are; the cast gives
        // them back as a blob.
        Dialect::Sqlite => format!("CAST(group_concat({column}, ''{order}) AS BLOB)"),
        Dialect::Postgres => format!("string_agg(uuid_send({column}), ''::bytea{order})"),
    }
}

/// At most this many matches: the page is read by id; above it, by walking
/// the sort order (a dense set fills a page within a few walks). Tests
/// take both ways with a handful of contacts.
const PAGE_BY_ID: usize = if cfg!(feature = "testing") { 2 } else { 5_000 };

/// Rows of the sort order in a walk's first stretch, and at most in one.
const WALK: u64 = if cfg!(feature = "testing") { 1 } else { 2_000 };
const WALK_MOST: u64 = if cfg!(feature = "testing") { 2 } else { 32_768 };

/// Contacts copied into the property index per transaction.
const INDEX_CHUNK: i64 = 2_000;

/// Stretches read ahead at most while a set is read (up to 8 MiB of ids).
const AHEAD_MOST: usize = if cfg!(feature = "testing") { 2 } else { 16 };

/// Sets read at once: each takes a reader connection.
const SETS_AT_ONCE: usize = 2;

impl Backend {
    /// The workspace's custom properties that have an index, ready or
    /// being built: (name, ready).
    pub(super) async fn indexed_props(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<(String, bool)>, StoreError> {
        sqlx::query_as(
            "SELECT name, index_state = 'ready' FROM property_types
             WHERE workspace_id = $1 AND index_state IS NOT NULL",
        )
        .bind(workspace.as_uuid())
        .fetch_all(self.reader())
        .await
        .map_err(db_err)
    }

    /// Asks for the index of the properties `filter` could read from it and
    /// that have none yet; the filter runs without them meanwhile. A failure
    /// here only leaves the search slower, so it is logged, not returned.
    pub(super) async fn index_filtered_props(
        &self,
        search: &ContactSearch,
        indexed: &[(String, bool)],
    ) {
        let mut names = Vec::new();
        filter_sql::indexable_props(&search.filter, &mut names);
        names.retain(|name| !indexed.iter().any(|(has, _)| has == name));
        if names.is_empty() {
            return;
        }
        let (workspace, now) = (search.workspace_id, search.now);
        if let Err(err) = self
            .write(op!(request_property_index, workspace, names, now))
            .await
        {
            tracing::warn!(%err, "could not ask for a property index");
        }
    }

    /// The search from id sets, when the filter allows it (`None`: it does
    /// not, and the caller runs it as one SQL condition).
    pub(super) async fn search_by_sets(
        &self,
        search: &ContactSearch,
        ready: &[String],
    ) -> Result<Option<ContactPage>, StoreError> {
        let Some(plan) =
            super::people::compiler(search.workspace_id, &[]).id_sets(&search.filter, ready)
        else {
            return Ok(None);
        };
        let SetPlan {
            mut positive,
            negative,
        } = plan;
        let only = if positive.len() == 1 && negative.is_empty() && search.limit > 0 {
            positive.pop()
        } else {
            None
        };
        let (ids, ahead) = if let Some(set) = only {
            // One set, whose page may need a walk: the order's first
            // stretches are read on another reader while the set is read.
            let read = AtomicBool::new(false);
            let (ids, ahead) = futures::join!(
                async {
                    let ids = self.id_set(set).await;
                    read.store(true, Ordering::Relaxed);
                    ids
                },
                self.read_ahead(search, &read),
            );
            (ids?, Some(ahead?))
        } else {
            (self.combine(positive, negative).await?, None)
        };
        let contacts = if search.limit == 0 || ids.is_empty() {
            Vec::new()
        } else if ids.len() <= PAGE_BY_ID {
            self.page_of(search, ids.iter().map(|id| Uuid::from_u128(*id)).collect())
                .await?
        } else {
            let page = self.walk(search, &ids, ahead).await?;
            self.page_of(search, page).await?
        };
        Ok(Some(ContactPage {
            count: u64::try_from(ids.len()).map_err(data_err)?,
            contacts,
        }))
    }

    /// The ids in every set of `positive` and in none of `negative`,
    /// sorted. Two sets are read at once; the positive ones are intersected
    /// as their reads finish, the negative ones kept until the end.
    async fn combine(
        &self,
        positive: Vec<SelectStatement>,
        negative: Vec<SelectStatement>,
    ) -> Result<IdSet, StoreError> {
        use futures::StreamExt;
        let sets = positive
            .into_iter()
            .map(|set| (true, set))
            .chain(negative.into_iter().map(|set| (false, set)));
        let mut have: Option<IdSet> = None;
        let mut without: Vec<IdSet> = Vec::new();
        let mut read = futures::stream::iter(sets)
            .map(|(positive, set)| async move {
                Ok::<_, StoreError>((positive, self.id_set(set).await?))
            })
            // In the order they finish, not the order asked: a set read
            // while a larger one still is would otherwise wait for it
            // before the next read starts, one reader idle meanwhile.
            .buffer_unordered(SETS_AT_ONCE);
        while let Some(next) = read.next().await {
            let (positive, set) = next?;
            if positive {
                have = Some(match have {
                    None => set,
                    Some(have) => intersect(&have, &set),
                });
            } else {
                without.push(set);
            }
        }
        let mut ids = have.unwrap_or_default();
        for set in &without {
            ids = subtract(&ids, set);
        }
        Ok(ids)
    }

    /// The contact ids `set` selects, sorted.
    async fn id_set(&self, set: SelectStatement) -> Result<IdSet, StoreError> {
        let (sql, values) = Query::select()
            .expr(Expr::cust(ids_as_one("s.contact_id", None)))
            .from_subquery(set, "s")
            .build_sqlx(QUERY_BUILDER);
        let bytes: Option<Vec<u8>> =
            sqlx::query_scalar_with(sqlx::AssertSqlSafe(sql.as_str()), values)
                .fetch_one(self.reader())
                .await
                .map_err(db_err)?;
        let mut ids = id_bytes(bytes)?;
        // An equality's ids come from the index already in order.
        if !ids.is_sorted() {
            ids.sort_unstable();
        }
        ids.dedup();
        Ok(ids)
    }

    /// The page among `ids` (in the search's order, after its cursor).
    async fn page_of(
        &self,
        search: &ContactSearch,
        ids: Vec<Uuid>,
    ) -> Result<Vec<Contact>, StoreError> {
        // By primary key, the workspace checked on the rows found (as
        // `push_ids_of` does): PostgreSQL without statistics for the
        // table read `workspace_id = .. AND id IN (..)` through an index
        // beginning with the workspace, all of its contacts (48 ms for 200
        // ids among 200,000 contacts, 3.7 ms this way).
        let workspace = search.workspace_id.as_uuid();
        let in_workspace = match DIALECT {
            Dialect::Sqlite => Expr::col(("contacts", "workspace_id")).eq(workspace),
            Dialect::Postgres => {
                Expr::cust_with_values("(contacts.workspace_id = $1) IS TRUE", [workspace])
            }
        };
        let among = Expr::col(("contacts", "id")).is_in(ids).and(in_workspace);
        self.page(search, among).await
    }

    /// The page of the search's contacts that `condition` holds.
    pub(super) async fn page(
        &self,
        search: &ContactSearch,
        condition: Expr,
    ) -> Result<Vec<Contact>, StoreError> {
        let mut query = Query::select();
        query
            .expr(Expr::cust("contacts.*"))
            .from("contacts")
            .and_where(condition)
            .order_by_expr(filter_sql::sort_key(DIALECT, search.sort), order(search))
            .order_by_expr(Expr::col(("contacts", "id")), order(search))
            .limit(u64::from(search.limit));
        if let Some((value, id)) = &search.after {
            query.and_where(filter_sql::after(
                DIALECT,
                search.sort,
                search.descending,
                value,
                id.as_uuid(),
            ));
        }
        let (sql, values) = query.build_sqlx(QUERY_BUILDER);
        sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
            .fetch_all(self.reader())
            .await
            .map_err(db_err)?
            .iter()
            .map(contact_from_row)
            .collect()
    }

    /// The page's members of `ids`, in order: the workspace's contacts in
    /// the search's order, read a stretch at a time (each stretch as one
    /// value: its ids, and the sort values of its ends), keeping members
    /// until the page is full. Stretches double from `WALK` rows up to
    /// `WALK_MOST`, so members far down the order (a filter of contacts not
    /// seen for weeks, sorted by last seen) cost a few large reads, not
    /// many small ones. The first stretch is read in order, and each after
    /// one in order that held a member (a dense set fills its page there);
    /// the others are read in no order, which costs each database half as
    /// much as ordering its ids, and one of those that holds a member is
    /// read again in order (`in_order`). `ahead`: stretches read in no
    /// order already (`read_ahead`), passed before any other is read.
    async fn walk(
        &self,
        search: &ContactSearch,
        ids: &IdSet,
        ahead: Option<Ahead>,
    ) -> Result<Vec<Uuid>, StoreError> {
        // Hundreds of thousands of look-ups by binary search cost more
        // than building it; SipHash would cost as much again as the walk's
        // reads (these ids are the server's own, not chosen by anyone).
        let mut page = Found {
            members: ids.iter().copied().collect(),
            ids: Vec::new(),
            wanted: usize::try_from(search.limit).map_err(data_err)?,
        };
        let (mut read, mut next, mut ordered) = match ahead {
            Some(Ahead { read, next }) => (VecDeque::from(read), next, false),
            None => (VecDeque::new(), Some((first_start(search), WALK)), true),
        };
        while !page.full() {
            let (start, ids) = match read.pop_front() {
                Some(stretch) => stretch,
                None => {
                    let Some((start, rows)) = next.take() else {
                        break;
                    };
                    let (ids, ends) = self.stretch(search, &start, rows, ordered).await?;
                    next = next_start(search.descending, rows, &ids, ends)?
                        .map(|at| (at, doubled(rows)));
                    if ordered {
                        ordered = page.keep(&ids) > 0;
                        continue;
                    }
                    (start, ids)
                }
            };
            let held = page.held(&ids);
            if held > 0 {
                self.in_order(search, start, ids.len(), held, &mut page)
                    .await?;
            }
        }
        Ok(page.ids)
    }

    /// Reads again in order the stretch of `rows` rows from `start`, read
    /// in no order before and found holding `held` members, a part at a
    /// time (from `WALK` rows, doubling), until the page is full or every
    /// member it holds is kept.
    async fn in_order(
        &self,
        search: &ContactSearch,
        mut start: Start,
        mut rows: usize,
        mut held: usize,
        page: &mut Found,
    ) -> Result<(), StoreError> {
        let mut part = WALK;
        while rows > 0 && held > 0 && !page.full() {
            let asked = Ord::min(usize::try_from(part).map_err(data_err)?, rows);
            let (ids, ends) = self
                .stretch(
                    search,
                    &start,
                    u64::try_from(asked).map_err(data_err)?,
                    true,
                )
                .await?;
            held = held.saturating_sub(page.keep(&ids));
            let (Some(last), Some(Ends { last: value, .. })) = (ids.last(), ends) else {
                return Ok(());
            };
            if ids.len() < asked {
                return Ok(());
            }
            start = Start::After(value, Uuid::from_u128(*last));
            rows -= asked;
            part = doubled(part);
        }
        Ok(())
    }

    /// The order's stretches from the search's start, read in no order
    /// (not knowing yet which hold members) until `done` is set, at
    /// most `AHEAD_MOST` of them: the walk's first reads, made while the
    /// filter's set is read on another reader.
    async fn read_ahead(
        &self,
        search: &ContactSearch,
        done: &AtomicBool,
    ) -> Result<Ahead, StoreError> {
        let mut read = Vec::new();
        let mut start = first_start(search);
        let mut stretch = WALK;
        // Tests read their most whatever the set's read does, so that
        // every way through the walk is taken on every run.
        let stop = || !cfg!(feature = "testing") && done.load(Ordering::Relaxed);
        while !stop() && read.len() < AHEAD_MOST {
            let (ids, ends) = self.stretch(search, &start, stretch, false).await?;
            let next = next_start(search.descending, stretch, &ids, ends)?;
            read.push((start, ids));
            let Some(next) = next else {
                return Ok(Ahead { read, next: None });
            };
            start = next;
            stretch = doubled(stretch);
        }
        Ok(Ahead {
            read,
            next: Some((start, stretch)),
        })
    }

    /// Up to `rows` of the workspace's contacts from `start` in the
    /// search's order, as one value: their ids (in that order if
    /// `in_order`, else as the database finds them), with the sort values
    /// of the first and the last (`None` when there are none).
    async fn stretch(
        &self,
        search: &ContactSearch,
        start: &Start,
        rows: u64,
        in_order: bool,
    ) -> Result<(Vec<u128>, Option<Ends>), StoreError> {
        let direction = if search.descending { "DESC" } else { "ASC" };
        // The last row holds the stretch's lowest sort value in a
        // descending order, its highest in an ascending one.
        let (first_value, last_value) = if search.descending {
            ("MAX", "MIN")
        } else {
            ("MIN", "MAX")
        };
        let mut query = Query::select();
        query
            .expr_as(Expr::col(("contacts", "id")), "id")
            .expr_as(filter_sql::sort_key(DIALECT, search.sort), "k")
            .from("contacts")
            .and_where(Expr::col(("contacts", "workspace_id")).eq(search.workspace_id.as_uuid()))
            .order_by_expr(filter_sql::sort_key(DIALECT, search.sort), order(search))
            .order_by_expr(Expr::col(("contacts", "id")), order(search))
            .limit(rows);
        match start {
            Start::Top => {}
            Start::After(value, id) => {
                query.and_where(filter_sql::after(
                    DIALECT,
                    search.sort,
                    search.descending,
                    value,
                    *id,
                ));
            }
            Start::From(value) => {
                query.and_where(filter_sql::from_value(
                    DIALECT,
                    search.sort,
                    search.descending,
                    value,
                ));
            }
        }
        let order = format!("s.k {direction}, s.id {direction}");
        let ids = ids_as_one("s.id", in_order.then_some(order.as_str()));
        let (sql, values) = Query::select()
            .expr_as(Expr::cust(ids), "ids")
            .expr_as(Expr::cust(format!("{first_value}(s.k)")), "first_value")
            .expr_as(Expr::cust(format!("{last_value}(s.k)")), "last_value")
            .from_subquery(query, "s")
            .build_sqlx(QUERY_BUILDER);
        let row = sqlx::query_with(sqlx::AssertSqlSafe(sql), values)
            .fetch_one(self.reader())
            .await
            .map_err(db_err)?;
        let ids = id_bytes(row.try_get::<Option<Vec<u8>>, _>("ids").map_err(db_err)?)?;
        if ids.is_empty() {
            return Ok((ids, None));
        }
        let value = |column| -> Result<SortValue, StoreError> {
            Ok(match search.sort {
                ContactSort::Name => SortValue::Text(text(&row, column)?),
                _ => SortValue::Number(row.try_get(column).map_err(db_err)?),
            })
        };
        let ends = Ends {
            first: value("first_value")?,
            last: value("last_value")?,
        };
        Ok((ids, Some(ends)))
    }
}

/// Where a stretch of the walk starts: at the top of the order, after a
/// row, or at a sort value (every row holding it included).
#[derive(Debug, PartialEq)]
enum Start {
    Top,
    After(SortValue, Uuid),
    From(SortValue),
}

/// The stretch after one of `stretch` rows: twice as long, up to
/// `WALK_MOST`.
fn doubled(stretch: u64) -> u64 {
    Ord::min(stretch * 2, WALK_MOST)
}

/// The walk's page: the members of the set it walks for, and those kept
/// so far, in order.
struct Found {
    members: Members,
    ids: Vec<Uuid>,
    wanted: usize,
}

impl Found {
    fn full(&self) -> bool {
        self.ids.len() >= self.wanted
    }

    /// How many members `stretch` holds.
    fn held(&self, stretch: &[u128]) -> usize {
        stretch
            .iter()
            .filter(|id| self.members.contains(id))
            .count()
    }

    /// Keeps the members of `stretch` (read in order) until the page is
    /// full, and says how many it held (kept or not). A stretch that
    /// starts at a sort value (`Start::From`) begins with rows of the
    /// stretch before it, the last ones of that value: a member among them
    /// is kept already, and in its place (they lead the stretch).
    fn keep(&mut self, stretch: &[u128]) -> usize {
        let mut held = 0;
        for id in stretch.iter().filter(|id| self.members.contains(id)) {
            held += 1;
            let id = Uuid::from_u128(*id);
            if !self.full() && !self.ids.contains(&id) {
                self.ids.push(id);
            }
        }
        held
    }
}

/// Where the search's walk starts: after its cursor, or at the top.
fn first_start(search: &ContactSearch) -> Start {
    match &search.after {
        Some((value, id)) => Start::After(value.clone(), id.as_uuid()),
        None => Start::Top,
    }
}

/// Where the stretch after one read in no order starts (`None`: that one
/// ended the order): after its last row when one value filled it (its
/// last id: the lowest in a descending order, the highest in an ascending
/// one), else at the value it ended on, the rows holding it included
/// (those read already hold no member). Either way it reads at least one
/// row this one did not, and none before this one's first.
fn next_start(
    descending: bool,
    stretch: u64,
    ids: &[u128],
    ends: Option<Ends>,
) -> Result<Option<Start>, StoreError> {
    let Some(Ends { first, last }) = ends else {
        return Ok(None);
    };
    if ids.len() < usize::try_from(stretch).map_err(data_err)? {
        return Ok(None);
    }
    Ok(Some(if first == last {
        // In one value's rows the order is the ids'.
        let last_id = if descending {
            ids.iter().min()
        } else {
            ids.iter().max()
        };
        let last_id = last_id.copied().map(Uuid::from_u128).unwrap_or_default();
        Start::After(last, last_id)
    } else {
        Start::From(last)
    }))
}

/// The sort values of a stretch's first and last rows.
struct Ends {
    first: SortValue,
    last: SortValue,
}

/// The stretches `read_ahead` read, in order, each with where it started;
/// and where the walk reads on after them, and how many rows (`None`: the
/// order ended).
struct Ahead {
    read: Vec<(Start, Vec<u128>)>,
    next: Option<(Start, u64)>,
}

/// Ids from an aggregated set's bytes.
fn id_bytes(bytes: Option<Vec<u8>>) -> Result<IdSet, StoreError> {
    let bytes = bytes.unwrap_or_default();
    if !bytes.len().is_multiple_of(16) {
        return Err(StoreError::Other(
            format!("an id set of {} bytes", bytes.len()).into(),
        ));
    }
    Ok(bytes
        .chunks_exact(16)
        .map(|id| {
            let mut bytes = [0; 16];
            bytes.copy_from_slice(id);
            u128::from_be_bytes(bytes)
        })
        .collect())
}

fn order(search: &ContactSearch) -> Order {
    if search.descending {
        Order::Desc
    } else {
        Order::Asc
    }
}

/// The ids in both sorted sets.
fn intersect(a: &IdSet, b: &IdSet) -> IdSet {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::with_capacity(small.len());
    let (mut i, mut j) = (0, 0);
    while i < small.len() && j < large.len() {
        match small[i].cmp(&large[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(small[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// The ids of sorted `a` that are not in sorted `b`.
fn subtract(a: &IdSet, b: &IdSet) -> IdSet {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for id in a {
        while j < b.len() && b[j] < *id {
            j += 1;
        }
        if j == b.len() || b[j] != *id {
            out.push(*id);
        }
    }
    out
}

/// Marks the named properties for indexing (those of a scalar type with no
/// index yet) and queues the job that builds each one's index.
pub(super) async fn request_property_index(
    conn: &mut Conn,
    workspace: WorkspaceId,
    names: Vec<String>,
    now: Timestamp,
) -> Result<(), StoreError> {
    for name in names {
        let marked = sqlx::query(
            "UPDATE property_types SET index_state = 'building'
             WHERE workspace_id = $1 AND name = $2 AND index_state IS NULL
               AND type IN ('string', 'number', 'boolean')",
        )
        .bind(workspace.as_uuid())
        .bind(&name)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        if marked.rows_affected() == 1 {
            let job = Job::IndexProperty {
                workspace_id: workspace,
                name,
            };
            insert_job(conn, &NewJob::new(workspace, job, now), now).await?;
        }
    }
    Ok(())
}

/// The statement that copies one chunk of contacts' values of a property
/// (`$1` workspace, `$2` name, `$3`/`$4` after this (created_at, id),
/// `$5`/`$6` up to this one).
const COPY_CHUNK: &str = match DIALECT {
    Dialect::Sqlite => {
        "INSERT OR IGNORE INTO contact_props (workspace_id, name, value, contact_id)
         SELECT c.workspace_id, $2, json_extract(c.props, '$.\"' || $2 || '\"'), c.id
         FROM contacts c
         WHERE c.workspace_id = $1 AND (c.created_at, c.id) > ($3, $4) AND (c.created_at, c.id) <= ($5, $6)
           AND json_type(c.props, '$.\"' || $2 || '\"') IN ('text', 'integer', 'real', 'true', 'false')"
    }
    Dialect::Postgres => {
        "INSERT INTO contact_props (workspace_id, name, value, contact_id)
         SELECT c.workspace_id, $2, c.props -> $2, c.id
         FROM contacts c
         WHERE c.workspace_id = $1 AND (c.created_at, c.id) > ($3, $4) AND (c.created_at, c.id) <= ($5, $6)
           AND jsonb_typeof(c.props -> $2) IN ('string', 'number', 'boolean')
           AND (jsonb_typeof(c.props -> $2) <> 'string' OR octet_length(c.props ->> $2) <= 1000)
         ON CONFLICT DO NOTHING"
    }
};

/// Copies the next chunk of contacts' values of a property into its index
/// (after the chunk the last call stopped at); true once every contact is
/// in and the index is ready (or the property has no index to build).
/// The contacts of the chunk are locked on PostgreSQL until it commits, so
/// a concurrent update's trigger runs after the copy and replaces what it
/// copied; SQLite's writes are one at a time anyway.
pub(super) async fn index_property_chunk(
    conn: &mut Conn,
    workspace: WorkspaceId,
    name: String,
) -> Result<bool, StoreError> {
    let state: Option<(Option<String>, Option<i64>, Option<Uuid>)> = sqlx::query_as(for_update!(
        "SELECT index_state, index_after_at, index_after_id FROM property_types
         WHERE workspace_id = $1 AND name = $2"
    ))
    .bind(workspace.as_uuid())
    .bind(&name)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some((Some(state), after_at, after_id)) = state else {
        return Ok(true);
    };
    if state != "building" {
        return Ok(true);
    }
    let after = (
        after_at.unwrap_or(i64::MIN),
        after_id.unwrap_or(Uuid::nil()),
    );
    let keys: Vec<(i64, Uuid)> = sqlx::query_as(concat!(
        "SELECT created_at, id FROM contacts
         WHERE workspace_id = $1 AND (created_at, id) > ($2, $3)
         ORDER BY created_at, id LIMIT $4",
        contact_share_lock!()
    ))
    .bind(workspace.as_uuid())
    .bind(after.0)
    .bind(after.1)
    .bind(INDEX_CHUNK)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(&last) = keys.last() else {
        sqlx::query(
            "UPDATE property_types SET index_state = 'ready', index_after_at = NULL, index_after_id = NULL
             WHERE workspace_id = $1 AND name = $2",
        )
        .bind(workspace.as_uuid())
        .bind(&name)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        return Ok(true);
    };
    sqlx::query(COPY_CHUNK)
        .bind(workspace.as_uuid())
        .bind(&name)
        .bind(after.0)
        .bind(after.1)
        .bind(last.0)
        .bind(last.1)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "UPDATE property_types SET index_after_at = $3, index_after_id = $4
         WHERE workspace_id = $1 AND name = $2",
    )
    .bind(workspace.as_uuid())
    .bind(&name)
    .bind(last.0)
    .bind(last.1)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(bytes: &[u8]) -> IdSet {
        bytes
            .iter()
            .map(|b| u128::from_be_bytes([*b; 16]))
            .collect()
    }

    #[test]
    fn ids_order_as_their_bytes_do() {
        let low = Uuid::from_bytes([0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let high = Uuid::from_bytes([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let set = id_bytes(Some([&high.as_bytes()[..], &low.as_bytes()[..]].concat())).unwrap();
        assert!(set[1] < set[0]);
        assert_eq!(Uuid::from_u128(set[1]), low);
    }

    #[test]
    fn a_stretch_of_one_value_goes_on_by_id_and_others_from_their_last_value() {
        let n = SortValue::Number;
        let ends = |first, last| {
            Some(Ends {
                first: n(first),
                last: n(last),
            })
        };
        let ids = [3_u128, 1, 2];
        // One value filled it: after its last row, the lowest id going
        // down, the highest going up.
        assert_eq!(
            next_start(true, 3, &ids, ends(7, 7)).unwrap(),
            Some(Start::After(n(7), Uuid::from_u128(1)))
        );
        assert_eq!(
            next_start(false, 3, &ids, ends(7, 7)).unwrap(),
            Some(Start::After(n(7), Uuid::from_u128(3)))
        );
        // Several: at its last value, those rows included.
        assert_eq!(
            next_start(true, 3, &ids, ends(9, 7)).unwrap(),
            Some(Start::From(n(7)))
        );
        // A short stretch, or none, ended the order.
        assert_eq!(next_start(true, 4, &ids, ends(9, 7)).unwrap(), None);
        assert_eq!(next_start(true, 3, &[], None).unwrap(), None);
    }

    #[test]
    fn sets_intersect_and_subtract_in_order() {
        assert_eq!(
            intersect(&ids(&[1, 3, 5, 7]), &ids(&[2, 3, 7, 9])),
            ids(&[3, 7])
        );
        assert_eq!(intersect(&ids(&[1, 2]), &ids(&[])), ids(&[]));
        assert_eq!(
            subtract(&ids(&[1, 3, 5, 7]), &ids(&[0, 3, 4, 7, 8])),
            ids(&[1, 5])
        );
        assert_eq!(subtract(&ids(&[1, 2]), &ids(&[])), ids(&[1, 2]));
    }
}
