//! Compiles a checked filter tree (`rapport_core::model::filter`) to a SQL
//! condition on `contacts` with sea-query, for each backend's dialect.
//! Every value is a bound parameter; identifiers (property names) are bound
//! too, as JSON paths or keys, never spliced into the text.
//!
//! A positive event condition is `id IN (subquery)` on the indexed
//! summaries, which lets the planner drive the query from the rarest
//! condition; negative ones, and conversation conditions, are (NOT)
//! EXISTS, which both planners turn into (anti-)joins.

use rapport_core::Timestamp;
use rapport_core::model::contact::{PropType, SYSTEM_PROPERTIES};
use rapport_core::model::filter::{EventTest, Filter, PropTest, Scalar};
use rapport_core::model::people::{ContactSort, SortValue};
use sea_query::extension::postgres::PgExpr;
use sea_query::{Expr, ExprTrait, LikeExpr, Query, SelectStatement};
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// Compiles filters for one workspace.
pub(crate) struct Compiler<'a> {
    pub dialect: Dialect,
    pub workspace: Uuid,
    /// Contacts online now, for `online` conditions.
    pub online: &'a [Uuid],
}

fn always(yes: bool) -> Expr {
    Expr::cust(if yes { "1 = 1" } else { "1 = 0" })
}

fn col(name: &'static str) -> Expr {
    Expr::col(("contacts", name))
}

/// A LIKE pattern matching text that contains (or starts with) `text`,
/// with `\` escaping the wildcards (PostgreSQL's default escape; SQLite
/// is told with ESCAPE).
fn like_pattern(text: &str, starts: bool) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    if starts {
        format!("{escaped}%")
    } else {
        format!("%{escaped}%")
    }
}

/// A system property's column: `contacts` names its columns after them.
fn system_column(name: &str) -> Option<&'static str> {
    SYSTEM_PROPERTIES
        .iter()
        .map(|(column, _)| *column)
        .find(|column| *column == name)
}

/// Joins `parts` (at least one) with `join` as a balanced tree. sea-query
/// chains a group's parts left to right, one level per part, and renders
/// (and drops) that chain recursively; balanced, a group of n parts is
/// log2(n) deep, so no group size can exhaust the stack.
fn balanced(parts: impl Iterator<Item = Expr>, join: fn(Expr, Expr) -> Expr) -> Expr {
    let mut level: Vec<Expr> = parts.collect();
    while level.len() > 1 {
        let mut pairs = Vec::with_capacity(level.len().div_ceil(2));
        let mut items = level.into_iter();
        while let Some(left) = items.next() {
            pairs.push(match items.next() {
                Some(right) => join(left, right),
                None => left,
            });
        }
        level = pairs;
    }
    level.pop().unwrap_or_else(|| always(true))
}

impl Compiler<'_> {
    /// `contacts` rows of the workspace that match.
    pub fn matching(&self, filter: &Filter) -> Expr {
        col("workspace_id")
            .eq(self.workspace)
            .and(self.condition(filter))
    }

    fn condition(&self, filter: &Filter) -> Expr {
        match filter {
            Filter::All(parts) if parts.is_empty() => always(true),
            Filter::Any(parts) if parts.is_empty() => always(false),
            Filter::All(parts) => balanced(parts.iter().map(|p| self.condition(p)), Expr::and),
            Filter::Any(parts) => balanced(parts.iter().map(|p| self.condition(p)), Expr::or),
            Filter::Prop {
                name,
                ty,
                system,
                test,
            } => match (*system, system_column(name)) {
                (true, Some(column)) => self.system_prop(column, *ty, test),
                _ => self.custom_prop(name, *ty, test),
            },
            Filter::Event { name, test } => self.event(name, *test),
            Filter::Tag { tag, has } => {
                let held = match self.dialect {
                    Dialect::Sqlite => Expr::cust_with_values(
                        "EXISTS (SELECT 1 FROM json_each(contacts.tags) WHERE json_each.value = ?)",
                        [tag.as_str()],
                    ),
                    Dialect::Postgres => Expr::cust_with_values(
                        "contacts.tags @> jsonb_build_array($1::text)",
                        [tag.as_str()],
                    ),
                };
                if *has { held } else { held.not() }
            }
            Filter::Online(yes) => {
                if self.online.is_empty() {
                    always(!yes)
                } else if *yes {
                    col("id").is_in(self.online.iter().copied())
                } else {
                    col("id").is_not_in(self.online.iter().copied())
                }
            }
            Filter::ConversationTag { tag, has } => {
                // EXISTS and NOT EXISTS: both planners make (anti-)joins.
                let tagged = Query::select()
                    .expr(Expr::cust("1"))
                    .from_as("conversation_tags", "t")
                    .join_as(
                        sea_query::JoinType::InnerJoin,
                        "conversations",
                        "v",
                        Expr::col(("v", "id")).equals(("t", "conversation_id")),
                    )
                    .and_where(Expr::col(("t", "workspace_id")).eq(self.workspace))
                    .and_where(Expr::col(("t", "tag")).eq(tag.as_str()))
                    .and_where(Expr::col(("v", "contact_id")).equals(("contacts", "id")))
                    .to_owned();
                if *has {
                    Expr::exists(tagged)
                } else {
                    Expr::exists(tagged).not()
                }
            }
            Filter::OpenConversation(yes) => {
                let open = Query::select()
                    .expr(Expr::cust("1"))
                    .from_as("conversations", "v")
                    .and_where(Expr::col(("v", "workspace_id")).eq(self.workspace))
                    .and_where(Expr::col(("v", "contact_id")).equals(("contacts", "id")))
                    .and_where(Expr::col(("v", "status")).eq("open"))
                    .to_owned();
                if *yes {
                    Expr::exists(open)
                } else {
                    Expr::exists(open).not()
                }
            }
        }
    }

    fn event(&self, name: &str, test: EventTest) -> Expr {
        if test == EventTest::NotPerformed {
            // NOT EXISTS, not NOT IN: PostgreSQL plans it as an anti-join,
            // where NOT IN over a large subquery is checked row by row.
            let mut done = self.event_set(name, EventTest::Performed);
            done.and_where(Expr::col(("e", "contact_id")).equals(("contacts", "id")));
            Expr::exists(done).not()
        } else {
            col("id").in_subquery(self.event_set(name, test))
        }
    }

    fn system_prop(&self, column: &'static str, ty: PropType, test: &PropTest) -> Expr {
        let value = col(column);
        // Date-times are stored as milliseconds; `sessions` is never unset.
        let at = |t: &Timestamp| Expr::val(t.as_millis());
        match (test, ty) {
            (PropTest::IsSet, PropType::Number) => always(true),
            (PropTest::NotSet, PropType::Number) => always(false),
            (PropTest::Before(t), _) => value.lt(at(t)),
            (PropTest::After(t), _) => value.gte(at(t)),
            _ => self.compare(value, test),
        }
    }

    fn custom_prop(&self, name: &str, ty: PropType, test: &PropTest) -> Expr {
        let path = format!("$.\"{name}\"");
        let present = match self.dialect {
            Dialect::Sqlite => {
                Expr::cust_with_values("json_type(contacts.props, ?) IS NOT NULL", [path.as_str()])
            }
            Dialect::Postgres => {
                Expr::cust_with_values("(contacts.props -> $1) IS NOT NULL", [name])
            }
        };
        match test {
            PropTest::IsSet => return present,
            PropTest::NotSet => return present.not(),
            _ => {}
        }
        if ty == PropType::List {
            let holds = |item: &str| match self.dialect {
                Dialect::Sqlite => Expr::cust_with_values(
                    "EXISTS (SELECT 1 FROM json_each(contacts.props, ?) WHERE json_each.value = ?)",
                    [path.as_str(), item],
                ),
                Dialect::Postgres => Expr::cust_with_values(
                    "COALESCE((contacts.props -> $1) @> jsonb_build_array($2::text), FALSE)",
                    [name, item],
                ),
            };
            return match test {
                PropTest::Contains(item) => holds(item),
                PropTest::NotContains(item) => holds(item).not(),
                _ => always(false),
            };
        }
        // The value as SQL of its type; NULL when unset. A property keeps
        // its type, so text needs no check (one JSON lookup per row is what
        // a scan of many contacts costs); PostgreSQL's casts of numbers
        // and booleans are guarded, so a value stored before types were
        // kept cannot fail the query.
        let value = match (self.dialect, ty) {
            (Dialect::Sqlite, _) => {
                Expr::cust_with_values("json_extract(contacts.props, ?)", [path.as_str()])
            }
            (Dialect::Postgres, PropType::Number) => Expr::cust_with_values(
                "(CASE WHEN jsonb_typeof(contacts.props -> $1) = 'number' THEN (contacts.props ->> $1)::float8 END)",
                [name],
            ),
            (Dialect::Postgres, PropType::Boolean) => Expr::cust_with_values(
                "(CASE WHEN jsonb_typeof(contacts.props -> $1) = 'boolean' THEN (contacts.props ->> $1)::boolean END)",
                [name],
            ),
            (Dialect::Postgres, _) => Expr::cust_with_values("(contacts.props ->> $1)", [name]),
        };
        match test {
            // Stored date-times are fixed-width text, so they compare as text.
            PropTest::Before(t) => value.lt(t.to_fixed_string()),
            PropTest::After(t) => value.gte(t.to_fixed_string()),
            _ => self.compare(value, test),
        }
    }

    /// The tests shared by columns and JSON values.
    fn compare(&self, value: Expr, test: &PropTest) -> Expr {
        let scalar = |s: &Scalar| match (s, self.dialect) {
            (Scalar::Text(t), _) => Expr::val(t.clone()),
            (Scalar::Number(n), _) => Expr::val(*n),
            // SQLite's JSON booleans are 1 and 0.
            (Scalar::Bool(b), Dialect::Sqlite) => Expr::val(i64::from(*b)),
            (Scalar::Bool(b), Dialect::Postgres) => Expr::val(*b),
        };
        let like = |value: Expr, text: &str, starts: bool| match self.dialect {
            Dialect::Sqlite => value.like(LikeExpr::new(like_pattern(text, starts)).escape('\\')),
            // `ILIKE ... ESCAPE` as sea-query writes it is a syntax error on
            // PostgreSQL; its default escape is the one we use anyway.
            Dialect::Postgres => value.ilike(like_pattern(text, starts)),
        };
        match test {
            PropTest::IsSet => value.is_not_null(),
            PropTest::NotSet => value.is_null(),
            PropTest::Eq(s) => value.eq(scalar(s)),
            PropTest::Ne(s) => value.clone().is_null().or(value.ne(scalar(s))),
            PropTest::Contains(text) => like(value, text, false),
            PropTest::NotContains(text) => {
                value.clone().is_null().or(like(value, text, false).not())
            }
            PropTest::StartsWith(text) => like(value, text, true),
            PropTest::In(items) => value.is_in(items.iter().cloned()),
            PropTest::Gt(n) => value.gt(*n),
            PropTest::Lt(n) => value.lt(*n),
            PropTest::Between(low, high) => value.between(*low, *high),
            PropTest::Before(_) | PropTest::After(_) => always(false),
        }
    }
}

/// A filter answered from id sets: the contacts in every `positive` set
/// and in no `negative` one. Each set is a `SELECT contact_id` that reads
/// one index only (the event summaries' or the property index's), so a
/// condition met by a third of a million contacts costs one index range,
/// not a million row visits; shared/contact_sets.rs combines the sets.
pub(crate) struct SetPlan {
    pub positive: Vec<SelectStatement>,
    pub negative: Vec<SelectStatement>,
}

/// The custom properties a filter could read from the property index,
/// ready or not (the caller asks for the missing ones to be built).
pub(crate) fn indexable_props(filter: &Filter, into: &mut Vec<String>) {
    match filter {
        Filter::All(parts) | Filter::Any(parts) => {
            for part in parts {
                indexable_props(part, into);
            }
        }
        Filter::Prop {
            name,
            ty,
            system,
            test,
        } if prop_leaf_kind(*system, name, *ty, test) && !into.contains(name) => {
            into.push(name.clone());
        }
        _ => {}
    }
}

/// Longer texts are not in PostgreSQL's property index (a B-tree entry
/// holds at most about 2.7 kB; a property's text may be 2,000 characters of
/// up to 4 bytes): a comparison with such a text runs the general way. One
/// with a shorter text needs none of them (they differ from it).
pub(crate) const MAX_INDEXED_TEXT_BYTES: usize = 1_000;

/// Whether a property condition can be read from the property index: a
/// custom scalar property and a test the index answers.
fn prop_leaf_kind(system: bool, name: &str, ty: PropType, test: &PropTest) -> bool {
    let custom = !(system && system_column(name).is_some());
    let scalar = matches!(ty, PropType::String | PropType::Number | PropType::Boolean);
    let short = |text: &str| text.len() <= MAX_INDEXED_TEXT_BYTES;
    let test_fits = match test {
        PropTest::Eq(Scalar::Text(text)) | PropTest::Ne(Scalar::Text(text)) => short(text),
        PropTest::In(items) => items.iter().all(|item| short(item)),
        PropTest::Eq(_) | PropTest::Ne(_) => true,
        PropTest::Gt(_) | PropTest::Lt(_) | PropTest::Between(..) => ty == PropType::Number,
        _ => false,
    };
    custom && scalar && test_fits
}

impl Compiler<'_> {
    /// The filter as id sets, when every condition it holds is one an
    /// index answers (events of any test; custom scalar properties whose
    /// index is `ready`, compared for equality or a number range), joined
    /// by a top-level "all", with at least one positive set to start from.
    /// `None`: the filter runs as one SQL condition (`matching`).
    pub fn id_sets(&self, filter: &Filter, ready: &[String]) -> Option<SetPlan> {
        let mut plan = SetPlan {
            positive: Vec::new(),
            negative: Vec::new(),
        };
        self.add_sets(filter, ready, &mut plan)?;
        (!plan.positive.is_empty()).then_some(plan)
    }

    fn add_sets(&self, filter: &Filter, ready: &[String], plan: &mut SetPlan) -> Option<()> {
        match filter {
            Filter::All(parts) => {
                for part in parts {
                    self.add_sets(part, ready, plan)?;
                }
            }
            Filter::Event { name, test } => {
                let (set, positive) = match test {
                    EventTest::NotPerformed => (self.event_set(name, EventTest::Performed), false),
                    test => (self.event_set(name, *test), true),
                };
                if positive {
                    plan.positive.push(set);
                } else {
                    plan.negative.push(set);
                }
            }
            Filter::Prop {
                name,
                ty,
                system,
                test,
            } if prop_leaf_kind(*system, name, *ty, test) && ready.contains(name) => match test {
                PropTest::Ne(value) => plan
                    .negative
                    .push(self.prop_set(name, &PropTest::Eq(value.clone()))),
                test => plan.positive.push(self.prop_set(name, test)),
            },
            _ => return None,
        }
        Some(())
    }

    fn event_set(&self, name: &str, test: EventTest) -> SelectStatement {
        let mut set = Query::select()
            .column(("e", "contact_id"))
            .from_as("contact_events", "e")
            .and_where(Expr::col(("e", "workspace_id")).eq(self.workspace))
            .and_where(Expr::col(("e", "name")).eq(name))
            .to_owned();
        match test {
            EventTest::Performed | EventTest::NotPerformed => {}
            EventTest::CountAtLeast(n) => {
                set.and_where(Expr::col(("e", "count")).gte(n));
            }
            EventTest::FirstSince(at) => {
                set.and_where(Expr::col(("e", "first_at")).gte(at.as_millis()));
            }
            EventTest::LastSince(at) => {
                set.and_where(Expr::col(("e", "last_at")).gte(at.as_millis()));
            }
        }
        set
    }

    /// Contacts whose indexed value passes `test` (an equality, a list of
    /// texts, or a number range; `prop_leaf_kind` admits no other).
    fn prop_set(&self, name: &str, test: &PropTest) -> SelectStatement {
        let value = || Expr::col(("p", "value"));
        // A value as the index holds it: SQLite's JSON values (booleans 1
        // and 0), PostgreSQL's JSONB.
        let indexed = |s: Scalar| match (self.dialect, s) {
            (Dialect::Sqlite, Scalar::Text(t)) => Expr::val(t),
            (Dialect::Sqlite, Scalar::Number(n)) => Expr::val(n),
            (Dialect::Sqlite, Scalar::Bool(b)) => Expr::val(i64::from(b)),
            (Dialect::Postgres, Scalar::Text(t)) => {
                Expr::cust_with_values("to_jsonb($1::text)", [t])
            }
            (Dialect::Postgres, Scalar::Number(n)) => {
                Expr::cust_with_values("to_jsonb($1::float8)", [n])
            }
            (Dialect::Postgres, Scalar::Bool(b)) => {
                Expr::cust_with_values("to_jsonb($1::boolean)", [b])
            }
        };
        // Number ranges stay within numbers (both backends order values of
        // other types before or after them).
        let numeric = || match self.dialect {
            Dialect::Sqlite => Expr::cust("typeof(p.value) IN ('integer', 'real')"),
            Dialect::Postgres => Expr::cust("jsonb_typeof(p.value) = 'number'"),
        };
        let number = |n: f64| indexed(Scalar::Number(n));
        let test = match test {
            PropTest::Eq(s) => value().eq(indexed(s.clone())),
            PropTest::In(items) => {
                value().is_in(items.iter().map(|item| indexed(Scalar::Text(item.clone()))))
            }
            PropTest::Gt(n) => numeric().and(value().gt(number(*n))),
            PropTest::Lt(n) => numeric().and(value().lt(number(*n))),
            PropTest::Between(low, high) => numeric()
                .and(value().gte(number(*low)))
                .and(value().lte(number(*high))),
            _ => always(false),
        };
        Query::select()
            .column(("p", "contact_id"))
            .from_as("contact_props", "p")
            .and_where(Expr::col(("p", "workspace_id")).eq(self.workspace))
            .and_where(Expr::col(("p", "name")).eq(name))
            .and_where(test)
            .to_owned()
    }
}

/// The expression a contact list is sorted by. Names compare byte by byte
/// on both backends, as `ContactSort::value_of` orders them: PostgreSQL
/// would otherwise use the database's collation (`en_US` puts "ada" before
/// "Bob"; SQLite and "C" put it after).
pub(crate) fn sort_key(dialect: Dialect, sort: ContactSort) -> Expr {
    Expr::cust(match (sort, dialect) {
        (ContactSort::LastSeen, _) => "COALESCE(contacts.last_seen_at, 0)",
        (ContactSort::FirstSeen, _) => "COALESCE(contacts.first_seen_at, 0)",
        (ContactSort::Created, _) => "contacts.created_at",
        (ContactSort::Name, Dialect::Sqlite) => "COALESCE(contacts.name, '')",
        (ContactSort::Name, Dialect::Postgres) => "(COALESCE(contacts.name, '') COLLATE \"C\")",
    })
}

/// Rows after `(value, id)` in the order, written as a range of the sort
/// key and a test of the id: neither database reads a row-value comparison
/// on an expression index (the sort keys are `COALESCE`s) as a range, so
/// `(k, id) < (v, i)` would scan from the start of the order, where
/// `k <= v AND (k < v OR id < i)` is a range of `k`.
pub(crate) fn after(
    dialect: Dialect,
    sort: ContactSort,
    descending: bool,
    value: &SortValue,
    id: Uuid,
) -> Expr {
    let value = sort_value(value);
    let key = || sort_key(dialect, sort);
    if descending {
        key()
            .lte(value.clone())
            .and(key().lt(value).or(col("id").lt(id)))
    } else {
        key()
            .gte(value.clone())
            .and(key().gt(value).or(col("id").gt(id)))
    }
}

/// Rows at `value` or after it in the order, every row holding it
/// included: a range of the sort key alone.
pub(crate) fn from_value(
    dialect: Dialect,
    sort: ContactSort,
    descending: bool,
    value: &SortValue,
) -> Expr {
    let value = sort_value(value);
    if descending {
        sort_key(dialect, sort).lte(value)
    } else {
        sort_key(dialect, sort).gte(value)
    }
}

fn sort_value(value: &SortValue) -> Expr {
    match value {
        SortValue::Number(n) => Expr::val(*n),
        SortValue::Text(t) => Expr::val(t.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::SqliteQueryBuilder;

    #[test]
    fn wide_groups_compile_and_render_on_a_small_stack() {
        // 100,000 parts left to right overflow even the main thread's stack
        // when rendered; balanced, they are 17 levels deep.
        let filter = Filter::Any(vec![Filter::Online(true); 100_000]);
        let online = [Uuid::nil()];
        let compiler = Compiler {
            dialect: Dialect::Sqlite,
            workspace: Uuid::nil(),
            online: &online,
        };
        let rendered = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(scope, || {
                    let sql = Query::select()
                        .expr(Expr::cust("1"))
                        .from("contacts")
                        .and_where(compiler.matching(&filter))
                        .to_string(SqliteQueryBuilder);
                    str::matches(&sql, " OR ").count()
                })
                .unwrap()
                .join()
                .unwrap()
        });
        assert_eq!(rendered, 99_999);
    }
}
