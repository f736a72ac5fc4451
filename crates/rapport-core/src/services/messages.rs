//! The one path every chat message a business sends takes, whether from the
//! Inbox, the API, a profile, a bulk send or an automation: render the
//! template for the contact, store the message (and the conversation it
//! starts) with its activity entries and its email fallback job in one
//! transaction, then tell the bus. Nothing else writes messages.

use serde_json::Value as Json;

use crate::model::agent::Agent;
use crate::model::contact::Contact;
use crate::model::conversation::{Author, Conversation, Message, PartKind};
use crate::model::email;
use crate::model::ids::{AgentId, BulkSendId, ContactId, ConversationId, MessageId, WorkspaceId};
use crate::model::template::{CompiledTemplate, RenderContext, SnippetTemplate, TemplateError};
use crate::model::validation::ValidationError;
use crate::ports::store::{MessageContext, NewMessage, StoreError, StoredMessage};
use crate::services::{Deps, SendError, not_found};

/// A chat message from the team (a member, or the bot) to one contact.
#[derive(Clone, Debug)]
pub struct ChatMessage {
    pub workspace_id: WorkspaceId,
    pub from: Author,
    pub contact_id: ContactId,
    /// Append to this conversation; `None` starts a new one.
    pub conversation_id: Option<ConversationId>,
    pub kind: PartKind,
    /// A snippet-tag template.
    pub body: String,
    /// The event that triggered an automated message, for `{{ event.* }}`.
    pub event: Option<(String, Json)>,
    /// Email it if the contact leaves it unread while offline (the
    /// workspace's and the contact's settings still apply).
    pub email_fallback: bool,
    /// The bulk send this message is one of.
    pub bulk_send: Option<BulkSendId>,
}

/// Renders, stores and publishes one chat message.
pub async fn send_chat_message(
    deps: Deps<'_>,
    message: ChatMessage,
) -> Result<StoredMessage, SendError> {
    // Refuse a bad template before reading anything.
    let template = SnippetTemplate::parse(&message.body)?;
    if message.conversation_id.is_none() && message.kind == PartKind::Note {
        return Err(ValidationError::field(
            "type",
            "a note can only be added to an existing conversation",
        )
        .into());
    }
    let context = load_context(deps, &message).await?;
    let new = prepare(&message, &template.compile()?, &context, deps.clock.now())?;
    // The store checks the conversation is this contact's as it locks it;
    // only when it refuses do we look again, to say which id is wrong.
    let result = match deps.store.append_message(new).await {
        Err(StoreError::NotFound) => return Err(explain_refusal(deps, &message).await),
        other => other?,
    };
    deps.bus.publish(result.message.workspace_id, result.seq);
    Ok(result)
}

/// Sends many chat messages that each start a new conversation (a bulk
/// send's), as `send_chat_message` would each: the same rendering, email
/// plan, entries and live delivery, but with the contacts read in one query
/// and the messages stored a few statements per 500. All are of
/// `workspace`. Each message succeeds or fails on its own; an `Err` of the
/// whole means nothing was stored.
pub async fn start_conversations(
    deps: Deps<'_>,
    workspace: WorkspaceId,
    messages: Vec<ChatMessage>,
) -> Result<Vec<Result<StoredMessage, SendError>>, StoreError> {
    let ws = deps.store.workspace(workspace).await?;
    let ids: Vec<ContactId> = messages.iter().map(|m| m.contact_id).collect();
    let contacts: std::collections::HashMap<ContactId, Contact> = deps
        .store
        .contacts(workspace, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut agents: std::collections::HashMap<AgentId, Option<Agent>> = Default::default();
    for message in &messages {
        if let Author::Agent(id) = message.from
            && !agents.contains_key(&id)
        {
            let agent = match deps.store.agent(workspace, id).await {
                Ok(agent) => Some(agent),
                Err(StoreError::NotFound) => None,
                Err(other) => return Err(other),
            };
            agents.insert(id, agent);
        }
    }
    // A bulk send's messages share one body: checked and compiled once.
    let mut templates = std::collections::HashMap::new();
    for message in &messages {
        if !templates.contains_key(message.body.as_str()) {
            templates.insert(message.body.as_str(), SnippetTemplate::parse(&message.body));
        }
    }
    let compiled: std::collections::HashMap<&str, Result<CompiledTemplate<'_>, TemplateError>> =
        templates
            .iter()
            .map(|(body, parsed)| {
                let compiled = match parsed {
                    Ok(template) => template.compile(),
                    Err(err) => Err(err.clone()),
                };
                (*body, compiled)
            })
            .collect();
    let now = deps.clock.now();
    let mut results: Vec<Option<Result<StoredMessage, SendError>>> = Vec::new();
    let mut prepared = Vec::new();
    for message in &messages {
        let outcome = (|| {
            if message.workspace_id != workspace || message.conversation_id.is_some() {
                return Err(ValidationError::field(
                    "conversation_id",
                    "only new conversations of the workspace are started together",
                )
                .into());
            }
            let template = match compiled.get(message.body.as_str()) {
                Some(Ok(template)) => template,
                Some(Err(err)) => return Err(err.clone().into()),
                None => return Err(ValidationError::field("body", "was not checked").into()),
            };
            let contact = contacts
                .get(&message.contact_id)
                .ok_or(SendError::NotFound("contact_id"))?;
            let agent = match message.from {
                Author::Agent(id) => Some(
                    agents
                        .get(&id)
                        .cloned()
                        .flatten()
                        .ok_or(SendError::NotFound("from_agent_id"))?,
                ),
                _ => None,
            };
            let context = MessageContext {
                workspace: ws.clone(),
                contact: contact.clone(),
                agent,
            };
            prepare(message, template, &context, now)
        })();
        match outcome {
            Ok(new) => {
                results.push(None);
                prepared.push((results.len() - 1, new));
            }
            Err(refused) => results.push(Some(Err(refused))),
        }
    }
    let (slots, news): (Vec<usize>, Vec<NewMessage>) = prepared.into_iter().unzip();
    let stored = deps.store.start_conversations(news).await?;
    let mut last = None;
    for (slot, result) in slots.into_iter().zip(stored) {
        if let Ok(stored) = &result {
            last = last.max(Some(stored.seq));
        }
        results[slot] = Some(result.map_err(not_found("contact_id")));
    }
    if let Some(seq) = last {
        deps.bus.publish(workspace, seq);
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(SendError::NotFound("contact_id"))))
        .collect())
}

/// The message as it will be stored, with its conversation (if it starts
/// one) and its email plan: everything decided before the write.
fn prepare(
    message: &ChatMessage,
    template: &CompiledTemplate<'_>,
    context: &MessageContext,
    now: crate::Timestamp,
) -> Result<NewMessage, SendError> {
    let body = render_loaded(message, template, context)?;
    let stored = Message {
        id: MessageId::generate(),
        workspace_id: message.workspace_id,
        conversation_id: message
            .conversation_id
            .unwrap_or_else(ConversationId::generate),
        author: message.from,
        kind: message.kind,
        body,
        created_at: now,
    };
    // Replies to a proactive message go to the member who sent it.
    let sender = match message.from {
        Author::Agent(agent) => Some(agent),
        _ => None,
    };
    let new_conversation = message.conversation_id.is_none().then(|| {
        Conversation::start(
            stored.conversation_id,
            message.workspace_id,
            message.contact_id,
            sender,
            now,
        )
    });
    let email = email::plan(
        &stored,
        &context.workspace,
        &context.contact,
        message.email_fallback,
    );
    Ok(NewMessage {
        message: stored,
        contact_id: message.contact_id,
        new_conversation,
        email,
        email_key: None,
        bulk_send: message.bulk_send,
    })
}

/// A message a contact writes (in the widget, or by replying to an email):
/// their own words, never a template. `None` starts a new conversation.
pub async fn post_contact_message(
    deps: Deps<'_>,
    workspace_id: WorkspaceId,
    contact_id: ContactId,
    conversation_id: Option<ConversationId>,
    body: &str,
) -> Result<StoredMessage, SendError> {
    post_as_contact(deps, workspace_id, contact_id, conversation_id, body, None).await
}

/// A contact's reply by email, into the conversation its reply address
/// names. `email_key` (the email's Message-ID) makes a second delivery of
/// the same email a `Duplicate` that stores nothing.
pub async fn post_emailed_reply(
    deps: Deps<'_>,
    workspace_id: WorkspaceId,
    contact_id: ContactId,
    conversation_id: ConversationId,
    body: &str,
    email_key: Option<String>,
) -> Result<StoredMessage, SendError> {
    post_as_contact(
        deps,
        workspace_id,
        contact_id,
        Some(conversation_id),
        body,
        email_key,
    )
    .await
}

async fn post_as_contact(
    deps: Deps<'_>,
    workspace_id: WorkspaceId,
    contact_id: ContactId,
    conversation_id: Option<ConversationId>,
    body: &str,
    email_key: Option<String>,
) -> Result<StoredMessage, SendError> {
    let body = body.trim();
    if body.is_empty() || body.chars().count() > crate::model::template::MAX_TEMPLATE_CHARS {
        return Err(ValidationError::field(
            "body",
            format!(
                "a message has 1 to {} characters",
                crate::model::template::MAX_TEMPLATE_CHARS
            ),
        )
        .into());
    }
    let now = deps.clock.now();
    let message = Message {
        id: MessageId::generate(),
        workspace_id,
        conversation_id: conversation_id.unwrap_or_else(ConversationId::generate),
        author: Author::Contact(contact_id),
        kind: PartKind::Comment,
        body: body.to_owned(),
        created_at: now,
    };
    let new_conversation = conversation_id
        .is_none()
        .then(|| Conversation::start(message.conversation_id, workspace_id, contact_id, None, now));
    let stored = deps
        .store
        .append_message(NewMessage {
            message,
            contact_id,
            new_conversation,
            email: None,
            email_key,
            bulk_send: None,
        })
        .await
        .map_err(|err| match err {
            StoreError::Conflict(_) => SendError::Duplicate,
            other => not_found("conversation_id")(other),
        })?;
    deps.bus.publish(workspace_id, stored.seq);
    Ok(stored)
}

/// Why the store found nothing to append to.
async fn explain_refusal(deps: Deps<'_>, message: &ChatMessage) -> SendError {
    let Some(id) = message.conversation_id else {
        return SendError::NotFound("contact_id");
    };
    match deps.store.conversation(message.workspace_id, id).await {
        Ok(conversation) if conversation.contact_id != message.contact_id => {
            ValidationError::field(
                "conversation_id",
                "this conversation belongs to another contact",
            )
            .into()
        }
        Ok(_) => SendError::NotFound("contact_id"),
        Err(err) => not_found("conversation_id")(err),
    }
}

/// Renders a body for a contact exactly as sending would, without sending.
pub async fn preview_message(
    deps: Deps<'_>,
    workspace_id: WorkspaceId,
    contact_id: ContactId,
    from: Option<AgentId>,
    body: &str,
) -> Result<String, SendError> {
    let template = SnippetTemplate::parse(body)?;
    let message = ChatMessage {
        workspace_id,
        from: from.map_or(Author::Bot, Author::Agent),
        contact_id,
        conversation_id: None,
        kind: PartKind::Comment,
        body: body.to_owned(),
        event: None,
        email_fallback: false,
        bulk_send: None,
    };
    let context = load_context(deps, &message).await?;
    render_loaded(&message, &template.compile()?, &context)
}

/// Reads what rendering needs: the workspace, the contact and the sender.
async fn load_context(deps: Deps<'_>, message: &ChatMessage) -> Result<MessageContext, SendError> {
    let agent_id = match message.from {
        Author::Agent(id) => Some(id),
        _ => None,
    };
    let loaded = deps
        .store
        .message_context(message.workspace_id, message.contact_id, agent_id)
        .await
        .map_err(not_found("contact_id"))?;
    if agent_id.is_some() && loaded.agent.is_none() {
        return Err(SendError::NotFound("from_agent_id"));
    }
    Ok(loaded)
}

/// The body as this contact sees it; refuses one that renders empty.
fn render_loaded(
    message: &ChatMessage,
    template: &CompiledTemplate<'_>,
    loaded: &MessageContext,
) -> Result<String, SendError> {
    let mut context = RenderContext::new(&loaded.contact, loaded.agent.as_ref(), &loaded.workspace);
    if let Some((name, params)) = &message.event {
        context = context.with_event(name, params.clone());
    }
    let body = template.render(&context)?;
    if body.trim().is_empty() {
        return Err(
            ValidationError::field("body", "renders to an empty message for this contact").into(),
        );
    }
    Ok(body)
}
