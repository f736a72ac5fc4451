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
        let mut done: SelectStatement = Query::select()
            .column(("e", "contact_id"))
            .from_as("contact_events", "e")
            .and_where(Expr::col(("e", "workspace_id")).eq(self.workspace))
            .and_where(Expr::col(("e", "name")).eq(name))
            .to_owned();
        match test {
            EventTest::Performed | EventTest::NotPerformed => {}
            EventTest::CountAtLeast(n) => {
                done.and_where(Expr::col(("e", "count")).gte(n));
            }
            EventTest::FirstSince(at) => {
                done.and_where(Expr::col(("e", "first_at")).gte(at.as_millis()));
            }
            EventTest::LastSince(at) => {
                done.and_where(Expr::col(("e", "last_at")).gte(at.as_millis()));
            }
        }
        if test == EventTest::NotPerformed {
            // NOT EXISTS, not NOT IN: PostgreSQL plans it as an anti-join,
            // where NOT IN over a large subquery is checked row by row.
            done.and_where(Expr::col(("e", "contact_id")).equals(("contacts", "id")));
            Expr::exists(done).not()
        } else {
            col("id").in_subquery(done)
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

/// Rows after `(value, id)` in the order.
pub(crate) fn after(
    dialect: Dialect,
    sort: ContactSort,
    descending: bool,
    value: &SortValue,
    id: Uuid,
) -> Expr {
    let value = match value {
        SortValue::Number(n) => Expr::val(*n),
        SortValue::Text(t) => Expr::val(t.clone()),
    };
    let key = sort_key(dialect, sort);
    if descending {
        key.clone()
            .lt(value.clone())
            .or(key.eq(value).and(col("id").lt(id)))
    } else {
        key.clone()
            .gt(value.clone())
            .or(key.eq(value).and(col("id").gt(id)))
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
