//! Many upserts of one workspace in one write: the contact import's path.
//!
//! Row for row, the outcome is that of `upsert_contact` run on each in
//! order, in a handful of statements for the whole batch instead of five
//! or six per row: the contacts the rows may match are read at once (by
//! user id, and each vouched email's most recently updated holder), the
//! rows are applied to them in memory, and the changes go out as one
//! insert of the new contacts, one update per changed contact, the new
//! property types and one insert of their log entries.
//!
//! Matching in memory is exact while the contacts read still stand for the
//! database. A row whose email match depends on a contact an earlier row
//! of the batch moved away from that email (the database's next holder was
//! not read) ends the part: what came before is written, and the rest is
//! read again, now seeing it.

use super::*;
use std::collections::{BTreeSet, HashMap};

/// Row locks on the contacts read, where the backend has them.
const LOCK: &str = for_update!("");

/// Probes of [`probe`]: the contact with the user id `k.column1`...
const BY_USER_ID: &str = "WHERE workspace_id = w.ws AND user_id = k.column1";
/// ...the most recently updated vouched holder of the email `k.column1`...
const HOLDER: &str = "WHERE workspace_id = w.ws AND email_verified AND email = k.column1
    ORDER BY updated_at DESC, id DESC LIMIT 1";
/// ...and the same among contacts without a user id.
const FREE_HOLDER: &str = "WHERE workspace_id = w.ws AND email_verified AND email = k.column1
    AND user_id IS NULL ORDER BY updated_at DESC, id DESC LIMIT 1";

/// For each key, the id each probe finds, in one statement of one
/// correlated look-up per key and probe. A look-up per key keeps each on
/// its index whatever the planner believes of the table's size (a table
/// growing under an import has no statistics yet, and a planner that
/// thinks it small scans the whole workspace for a list of keys).
async fn probe(
    conn: &mut Conn,
    ws: Uuid,
    probes: &[&str],
    keys: &BTreeSet<&str>,
) -> Result<Vec<(String, Vec<Option<Uuid>>)>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = QueryBuilder::<Db>::new("SELECT k.column1");
    for probe in probes {
        sql.push(", (SELECT id FROM contacts ")
            .push(*probe)
            .push(")");
    }
    sql.push(" FROM (SELECT ")
        .push_bind(ws)
        .push(" AS ws) w CROSS JOIN (VALUES ");
    let mut list = sql.separated(", ");
    for key in keys {
        list.push("(")
            .push_bind_unseparated(*key)
            .push_unseparated(")");
    }
    sql.push(") k");
    let rows = sql.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    rows.iter()
        .map(|row| {
            let found = (1..=probes.len())
                .map(|at| row.try_get::<Option<Uuid>, _>(at).map_err(db_err))
                .collect::<Result<_, _>>()?;
            Ok((row.try_get::<String, _>(0).map_err(db_err)?, found))
        })
        .collect()
}

/// A vouched email's holders in the database when the part was read: the
/// most recently updated one, and the same among contacts without a user
/// id (as indexes into [`Known::contacts`]).
#[derive(Default, Clone, Copy)]
struct Holders {
    any: Option<usize>,
    without_user_id: Option<usize>,
}

/// Which contact an upsert names, as far as the contacts read can tell.
enum Target {
    Found(usize),
    New,
    /// The database must be read again to tell.
    Unsure,
}

/// The contacts a part of the batch may touch, as it changes them.
#[derive(Default)]
struct Known {
    contacts: Vec<Contact>,
    /// Whether each contact was read (an update) or made here (an insert).
    stored: Vec<bool>,
    /// Whether each contact changed in this part.
    touched: Vec<bool>,
    by_user_id: HashMap<String, usize>,
    /// Every contact that held an email at some point of this part (check
    /// that it still does).
    by_email: HashMap<String, Vec<usize>>,
    holders: HashMap<String, Holders>,
}

impl Known {
    fn add(&mut self, contact: Contact, stored: bool) -> usize {
        let at = self.contacts.len();
        self.index(at, &contact);
        self.contacts.push(contact);
        self.stored.push(stored);
        self.touched.push(!stored);
        at
    }

    fn index(&mut self, at: usize, contact: &Contact) {
        if let Some(user_id) = &contact.user_id {
            self.by_user_id.insert(user_id.clone(), at);
        }
        if let Some(email) = &contact.email {
            let holders = self.by_email.entry(email.as_str().to_owned()).or_default();
            if !holders.contains(&at) {
                holders.push(at);
            }
        }
    }

    fn replace(&mut self, at: usize, contact: Contact) {
        self.index(at, &contact);
        self.contacts[at] = contact;
        self.touched[at] = true;
    }

    /// The contact `upsert` names, by the rules of `find_upsert_target`.
    fn target(&self, upsert: &ContactUpsert) -> Target {
        if let Some(user_id) = &upsert.user_id {
            // A user id, once set, never changes: the index is exact.
            if let Some(&at) = self.by_user_id.get(user_id) {
                return Target::Found(at);
            }
        }
        let Some(email) = upsert.email.as_ref().filter(|_| upsert.email_verified) else {
            return Target::New;
        };
        let without_user_id = upsert.user_id.is_some();
        let qualifies = |contact: &Contact| {
            contact.email.as_ref() == Some(email)
                && contact.email_verified
                && (!without_user_id || contact.user_id.is_none())
        };
        let holders = self
            .holders
            .get(email.as_str())
            .copied()
            .unwrap_or_default();
        let holder = if without_user_id {
            holders.without_user_id
        } else {
            holders.any
        };
        // The holder read outranks every contact of the database not read;
        // once it no longer qualifies, the next one is unknown.
        if holder.is_some_and(|at| !qualifies(&self.contacts[at])) {
            return Target::Unsure;
        }
        self.by_email
            .get(email.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|at| qualifies(&self.contacts[*at]))
            .max_by_key(|at| (self.contacts[*at].updated_at, self.contacts[*at].id))
            .map_or(Target::New, Target::Found)
    }
}

/// Reads (and on PostgreSQL locks) the contacts the rows may match.
async fn read_known(
    conn: &mut Conn,
    workspace: WorkspaceId,
    rows: &[(ContactUpsert, ContactId)],
) -> Result<Known, StoreError> {
    let ws = workspace.as_uuid();
    let user_ids: BTreeSet<&str> = rows
        .iter()
        .filter_map(|(upsert, _)| upsert.user_id.as_deref())
        .collect();
    let emails: BTreeSet<&str> = rows
        .iter()
        .filter(|(upsert, _)| upsert.email_verified)
        .filter_map(|(upsert, _)| upsert.email.as_ref().map(Email::as_str))
        .collect();
    let by_user_id = probe(conn, ws, &[BY_USER_ID], &user_ids).await?;
    // Each email's holders: the most recent, and the most recent without a
    // user id (one index probe each, however many hold it).
    let by_email = probe(conn, ws, &[HOLDER, FREE_HOLDER], &emails).await?;
    let mut known = Known::default();
    let mut ids: Vec<Uuid> = by_user_id
        .iter()
        .chain(&by_email)
        .flat_map(|(_, found)| found.iter().flatten().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(known);
    }
    let mut sql = QueryBuilder::<Db>::new(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE workspace_id = "
    ));
    sql.push_bind(ws).push(" AND id IN ");
    push_ids(&mut sql, &ids);
    sql.push(LOCK);
    let read = sql.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    let mut at_id = HashMap::new();
    for row in &read {
        let contact = contact_from_row(row)?;
        let id = contact.id;
        at_id.insert(id.as_uuid(), known.add(contact, true));
    }
    for (email, found) in by_email {
        // A holder deleted since the probe is no holder.
        let at = |id: Option<Uuid>| id.and_then(|id| at_id.get(&id).copied());
        let holders = Holders {
            any: at(found[0]),
            without_user_id: at(found[1]),
        };
        known.holders.insert(email, holders);
    }
    Ok(known)
}

/// Inserts new contacts, every field, in one statement; returns how many
/// were inserted (a user id taken meanwhile skips its row).
pub(super) async fn insert_contacts<'a>(
    conn: &mut Conn,
    contacts: impl IntoIterator<Item = &'a Contact>,
) -> Result<u64, StoreError> {
    let mut sql = QueryBuilder::<Db>::new(
        "INSERT INTO contacts (workspace_id, id, user_id, email, name, phone, props, updated_at,
            first_seen_at, last_seen_at, sessions, country, city, browser, os, last_page, tags,
            email_verified, created_at) ",
    );
    sql.push_values(contacts, |mut row, contact| {
        let s = &contact.system;
        row.push_bind(contact.workspace_id.as_uuid())
            .push_bind(contact.id.as_uuid())
            .push_bind(contact.user_id.clone())
            .push_bind(contact.email.as_ref().map(|e| e.as_str().to_owned()))
            .push_bind(contact.name.clone())
            .push_bind(contact.phone.clone())
            .push_bind(Json(contact.props_json()))
            .push_bind(ms(contact.updated_at))
            .push_bind(s.first_seen_at.map(ms))
            .push_bind(s.last_seen_at.map(ms))
            .push_bind(i64::from(s.sessions))
            .push_bind(s.country.clone())
            .push_bind(s.city.clone())
            .push_bind(s.browser.clone())
            .push_bind(s.os.clone())
            .push_bind(s.last_page.clone())
            .push_bind(Json(contact.tags.clone()))
            .push_bind(contact.email_verified)
            .push_bind(ms(contact.created_at));
    });
    sql.push(" ON CONFLICT DO NOTHING");
    let done = sql.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(done.rows_affected())
}

/// Writes what a part changed: new contacts, changed ones, new property
/// types and the log entries.
async fn write_part(
    conn: &mut Conn,
    workspace: WorkspaceId,
    known: &Known,
    types: (&PropTypes, &PropTypes),
    entries: &[(ContactId, Activity)],
    now: Timestamp,
) -> Result<Option<i64>, StoreError> {
    save_new_types(conn, workspace, types.0, types.1, now).await?;
    let new: Vec<&Contact> = known
        .contacts
        .iter()
        .zip(&known.stored)
        .filter(|(_, stored)| !**stored)
        .map(|(contact, _)| contact)
        .collect();
    if !new.is_empty() {
        let inserted = insert_contacts(conn, new.iter().copied()).await?;
        if inserted != new.len() as u64 {
            // A concurrent write created one of these user ids.
            return Err(StoreError::Conflict("contacts_user_id".into()));
        }
    }
    for (at, contact) in known.contacts.iter().enumerate() {
        if known.stored[at] && known.touched[at] {
            save_contact(conn, contact, false).await?;
        }
    }
    if entries.is_empty() {
        return Ok(None);
    }
    let rows: Vec<LogRow<'_>> = entries
        .iter()
        .map(|(contact, activity)| (*contact, None, activity, now))
        .collect();
    Ok(log_rows(conn, workspace, &rows)
        .await?
        .into_iter()
        .map(|(_, seq)| seq)
        .max())
}

/// `ContactStore::upsert_contacts`.
pub(super) async fn upsert_contacts(
    conn: &mut Conn,
    workspace: WorkspaceId,
    rows: Vec<(ContactUpsert, ContactId)>,
    now: Timestamp,
) -> Result<UpsertBatch, StoreError> {
    if rows.len() > MAX_UPSERT_BATCH {
        return Err(StoreError::Other(
            format!("a batch holds at most {MAX_UPSERT_BATCH} upserts").into(),
        ));
    }
    if rows
        .iter()
        .any(|(upsert, _)| upsert.workspace_id != workspace)
    {
        return Err(StoreError::Other(
            "every upsert of a batch is of its workspace".into(),
        ));
    }
    let mut out = UpsertBatch {
        rows: Vec::with_capacity(rows.len()),
        last_seq: None,
    };
    let mut types = load_types(&mut *conn, workspace).await?;
    let mut start = 0;
    while start < rows.len() {
        let part = &rows[start..];
        let mut known = read_known(conn, workspace, part).await?;
        let types_before = types.clone();
        let mut entries: Vec<(ContactId, Activity)> = Vec::new();
        let mut done = 0;
        for (upsert, new_id) in part {
            match known.target(upsert) {
                Target::Unsure => break,
                Target::Found(at) => {
                    let before = &known.contacts[at];
                    let mut after = before.clone();
                    match after.apply(upsert, &mut types, now) {
                        Ok(()) => {
                            if let Some(entry) = contact_update(before, &after, None) {
                                entries.push((after.id, entry));
                            }
                            known.replace(at, after);
                            out.rows.push(Ok(false));
                        }
                        Err(invalid) => out.rows.push(Err(invalid)),
                    }
                }
                Target::New => match Contact::from_upsert(*new_id, upsert, &mut types, now) {
                    Ok(contact) => {
                        entries.push((contact.id, Activity::ContactCreated));
                        known.add(contact, false);
                        out.rows.push(Ok(true));
                    }
                    Err(invalid) => out.rows.push(Err(invalid)),
                },
            }
            done += 1;
        }
        if done == 0 {
            // A part's first row is matched against what was just read, so
            // this cannot happen; refuse rather than loop.
            return Err(StoreError::Other(
                "a batch of upserts could not be matched".into(),
            ));
        }
        let seq = write_part(
            conn,
            workspace,
            &known,
            (&types_before, &types),
            &entries,
            now,
        )
        .await?;
        out.last_seq = out.last_seq.max(seq);
        start += done;
    }
    Ok(out)
}
