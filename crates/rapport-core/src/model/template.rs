//! Snippet tags: message bodies are minijinja templates rendered for one
//! contact. Rendering is sandboxed (no includes, no macros, nothing to read
//! but the context given) and bounded by fuel so no template can hang a
//! worker. A missing, null or empty value renders as its `default`, or as
//! nothing: never as `none` or a raw tag.

use std::sync::LazyLock;

use minijinja::value::{Serde, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior, escape_formatter};
use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::model::agent::Agent;
use crate::model::contact::Contact;
use crate::model::workspace::Workspace;

/// The longest template accepted, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 20_000;
/// The longest rendered message, in characters.
pub const MAX_RENDERED_CHARS: usize = 50_000;
/// Instructions one render may run; plenty for any real message.
const FUEL: u64 = 20_000;

/// Why a template was refused, with where the fault is (1-based).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{message} (line {line}, column {column})")]
pub struct TemplateError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(50);
    // Debug mode copies context values (customer data) into error text.
    env.set_debug(false);
    // Message bodies are Markdown text, escaped when turned into HTML.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_formatter(|out, state, value| {
        let value = if value.is_none() {
            &Value::UNDEFINED
        } else {
            value
        };
        escape_formatter(out, state, value)
    });
    env.add_filter("default", fallback);
    env.add_filter("d", fallback);
    env
});

/// `default` that also covers null and blank text, which is what a person
/// writing `{{ user.name | default("there") }}` means.
fn fallback(value: Value, fallback: Option<Value>, _also_falsy: Option<bool>) -> Value {
    let missing = value.is_undefined()
        || value.is_none()
        || value.as_str().is_some_and(|text| text.trim().is_empty());
    if missing {
        fallback.unwrap_or_else(|| Value::from(""))
    } else {
        value
    }
}

/// What a template may read: the contact as `user`, the sending team member
/// as `agent`, the `workspace`, and the triggering `event` if any.
#[derive(Clone, Debug, Serialize)]
pub struct RenderContext {
    user: Json,
    agent: Json,
    workspace: Json,
    event: Json,
}

impl RenderContext {
    pub fn new(contact: &Contact, agent: Option<&Agent>, workspace: &Workspace) -> Self {
        let first_name = contact
            .name
            .as_deref()
            .and_then(|name| name.split_whitespace().next());
        Self {
            user: json!({
                "id": contact.id,
                "user_id": contact.user_id,
                "name": contact.name,
                "first_name": first_name,
                "email": contact.email,
                "phone": contact.phone,
                "country": contact.system.country,
                "city": contact.system.city,
                "last_page": contact.system.last_page,
                "sessions": contact.system.sessions,
                "first_seen_at": contact.system.first_seen_at,
                "last_seen_at": contact.system.last_seen_at,
                "tags": contact.tags,
                "props": contact.props_json(),
            }),
            agent: agent.map_or(Json::Null, |a| {
                json!({"name": a.name, "first_name": a.name.split_whitespace().next(), "email": a.email})
            }),
            workspace: json!({"name": workspace.name}),
            event: Json::Null,
        }
    }

    /// Adds the event that triggered an automated message.
    pub fn with_event(mut self, name: &str, params: Json) -> Self {
        self.event = json!({"name": name, "params": params});
        self
    }

    /// A stand-in used to check that a template renders at all.
    fn sample() -> Self {
        Self {
            user: json!({"id": "", "user_id": "u", "name": "Sample", "first_name": "Sample", "email": "sample@example.com", "phone": null,
                         "country": "France", "city": "Lyon", "last_page": "https://example.com/", "sessions": 1,
                         "first_seen_at": "2026-01-01T00:00:00.000Z", "last_seen_at": "2026-01-01T00:00:00.000Z",
                         "tags": ["sample"], "props": {}}),
            agent: json!({"name": "Sample", "first_name": "Sample", "email": "agent@example.com"}),
            workspace: json!({"name": "Sample"}),
            event: json!({"name": "sample", "params": {}}),
        }
    }
}

/// A template that parses and renders against a sample context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnippetTemplate(String);

impl SnippetTemplate {
    /// The empty body of a message that is only its attachments.
    pub fn blank() -> Self {
        SnippetTemplate(String::new())
    }

    /// Refuses a template that does not parse, uses an unknown filter, or
    /// runs out of fuel on a sample contact: before anything is sent.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if source.trim().is_empty() {
            return Err(TemplateError {
                message: "the message is empty".into(),
                line: 1,
                column: 1,
            });
        }
        if source.chars().count() > MAX_TEMPLATE_CHARS {
            return Err(TemplateError {
                message: format!("the message is longer than {MAX_TEMPLATE_CHARS} characters"),
                line: 1,
                column: 1,
            });
        }
        let template = Self(source.to_owned());
        template.render(&RenderContext::sample())?;
        Ok(template)
    }

    pub fn source(&self) -> &str {
        &self.0
    }

    /// Renders for one recipient.
    pub fn render(&self, context: &RenderContext) -> Result<String, TemplateError> {
        self.compile()?.render(context)
    }

    /// Compiles the template once, to render it for many recipients.
    pub fn compile(&self) -> Result<CompiledTemplate<'_>, TemplateError> {
        ENVIRONMENT
            .template_from_str(&self.0)
            .map(|template| CompiledTemplate {
                source: &self.0,
                template,
            })
            .map_err(|err| locate(&self.0, &err))
    }
}

/// A snippet template compiled for rendering (a bulk send renders one for
/// every recipient).
pub struct CompiledTemplate<'s> {
    source: &'s str,
    template: minijinja::Template<'s, 's>,
}

impl CompiledTemplate<'_> {
    /// Renders for one recipient.
    pub fn render(&self, context: &RenderContext) -> Result<String, TemplateError> {
        let rendered = self
            .template
            .render(Value::from(Serde(context)))
            .map_err(|err| locate(self.source, &err))?;
        if rendered.chars().count() > MAX_RENDERED_CHARS {
            return Err(TemplateError {
                message: format!(
                    "the message renders to more than {MAX_RENDERED_CHARS} characters"
                ),
                line: 1,
                column: 1,
            });
        }
        Ok(rendered)
    }
}

/// Turns a minijinja error into a message and a 1-based line and column.
fn locate(source: &str, err: &minijinja::Error) -> TemplateError {
    let message = match err.kind() {
        ErrorKind::OutOfFuel => "the template does too much work to render".to_owned(),
        _ => err.detail().map_or_else(
            || err.kind().to_string(),
            |d| format!("{}: {d}", err.kind()),
        ),
    };
    let (line, column) = match err.range() {
        Some(range) => {
            let before = &source[..range.start.min(source.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        }
        None => (err.line().unwrap_or(1), 1),
    };
    TemplateError {
        message,
        line,
        column,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;
    use crate::model::agent::{Email, Role};
    use crate::model::contact::{PropValue, Props};
    use crate::model::ids::{AgentId, ContactId, WorkspaceId};

    fn context(name: Option<&str>, props: Props) -> RenderContext {
        let ws = Workspace {
            id: WorkspaceId::generate(),
            name: "Acme".into(),
            app_id: "app".into(),
            identity_secret: String::new(),
            previous_identity_secret: None,
            identity_verification: false,
            allowed_origins: Vec::new(),
            bulk_sends_admins_only: false,
            retention_days: None,
            attachments: Default::default(),
            email: Default::default(),
            created_at: Timestamp::from_millis(0),
        };
        let contact = Contact {
            id: ContactId::generate(),
            workspace_id: ws.id,
            user_id: Some("u1".into()),
            email: Some(Email::parse("ada@example.com").unwrap()),
            email_verified: true,
            name: name.map(str::to_owned),
            phone: None,
            system: crate::model::contact::SystemProps {
                country: Some("France".into()),
                sessions: 3,
                ..Default::default()
            },
            props,
            tags: vec!["vip".into()],
            unsubscribed_at: None,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        };
        let agent = Agent {
            id: AgentId::generate(),
            workspace_id: ws.id,
            email: Email::parse("grace@acme.test").unwrap(),
            name: "Grace Hopper".into(),
            role: Role::Agent,
            created_at: Timestamp::from_millis(0),
        };
        RenderContext::new(&contact, Some(&agent), &ws)
    }

    fn render(source: &str, ctx: &RenderContext) -> String {
        SnippetTemplate::parse(source).unwrap().render(ctx).unwrap()
    }

    #[test]
    fn default_covers_missing_null_and_blank_values() {
        let t = r#"Hi {{ user.name | default("there") }}"#;
        assert_eq!(render(t, &context(None, Props::new())), "Hi there");
        assert_eq!(render(t, &context(Some(" "), Props::new())), "Hi there");
        assert_eq!(
            render(t, &context(Some("Ada Lovelace"), Props::new())),
            "Hi Ada Lovelace"
        );
    }

    #[test]
    fn missing_values_without_a_default_render_as_nothing() {
        let ctx = context(None, Props::new());
        assert_eq!(
            render(
                "[{{ user.name }}][{{ user.props.plan }}][{{ user.props.a.b }}][{{ event.params.x }}]",
                &ctx
            ),
            "[][][][]"
        );
    }

    #[test]
    fn props_agent_and_workspace_are_available() {
        let props = Props::from([("plan".to_owned(), PropValue::String("pro".into()))]);
        let ctx = context(Some("Ada Lovelace"), props);
        assert_eq!(
            render(
                "{{ user.first_name }} on {{ user.props.plan }}, from {{ agent.name }} at {{ workspace.name }}",
                &ctx
            ),
            "Ada on pro, from Grace Hopper at Acme"
        );
    }

    #[test]
    fn system_properties_and_tags_are_available() {
        let ctx = context(Some("Ada"), Props::new());
        assert_eq!(
            render(
                "{{ user.country }}, visit {{ user.sessions }}{% if 'vip' in user.tags %}, VIP{% endif %}{{ user.city | default('') }}",
                &ctx
            ),
            "France, visit 3, VIP"
        );
    }

    #[test]
    fn markup_in_values_is_left_for_the_markdown_renderer_to_escape() {
        let ctx = context(Some("<b>x</b>"), Props::new());
        assert_eq!(render("{{ user.name }}", &ctx), "<b>x</b>");
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let err = SnippetTemplate::parse("Hello\nthere {{ user.name ").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.column > 1, "{err:?}");
        let err = SnippetTemplate::parse("Hi {% if %}").unwrap_err();
        assert_eq!((err.line, err.column > 3), (1, true), "{err:?}");
    }

    #[test]
    fn unknown_filters_are_refused_before_sending() {
        let err = SnippetTemplate::parse("Hi {{ user.name | shout }}").unwrap_err();
        assert!(err.message.contains("filter"), "{err:?}");
    }

    #[test]
    fn hostile_templates_run_out_of_fuel() {
        let err = SnippetTemplate::parse(
            "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}",
        )
        .unwrap_err();
        assert!(err.message.contains("too much work"), "{err:?}");
    }

    #[test]
    fn templates_cannot_include_other_templates() {
        assert!(SnippetTemplate::parse("{% include 'secrets' %}").is_err());
    }

    #[test]
    fn empty_and_oversized_templates_are_refused() {
        assert!(SnippetTemplate::parse("   ").is_err());
        assert!(SnippetTemplate::parse(&"x".repeat(MAX_TEMPLATE_CHARS + 1)).is_err());
    }
}
