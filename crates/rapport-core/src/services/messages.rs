//! The one path every chat message a business sends takes, whether from the
//! Inbox, the API, a profile, a bulk send or an automation: render the
//! template for the contact, store the message (and the conversation it
//! starts) with its activity entries and its email fallback job in one
//! transaction, then tell the bus. Nothing else writes messages.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::model::agent::Agent;
use crate::model::attachment::AttachmentRef;
use crate::model::automation::MessageOrigin;
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
    /// The automation sending it, and what a bot question offers.
    pub origin: Option<MessageOrigin>,
    /// Files sent with it: uploaded by its sender and not sent yet (the
    /// store claims them in the message's write). With one, the body may be
    /// empty.
    pub attachments: Vec<AttachmentRef>,
}

impl ChatMessage {
    /// Where it comes from, as `/metrics` counts messages: `bulk`,
    /// `automation`, `bot`, or `team` (a member, in the Inbox or through
    /// the API).
    pub fn source(&self) -> &'static str {
        if self.bulk_send.is_some() {
            "bulk"
        } else if self.origin.as_ref().is_some_and(|o| o.cause.is_some()) {
            "automation"
        } else if matches!(self.from, Author::Bot) {
            "bot"
        } else {
            "team"
        }
    }
}

/// Renders, stores and publishes one chat message: a batch of one.
pub async fn send_chat_message(
    deps: Deps<'_>,
    message: ChatMessage,
) -> Result<StoredMessage, SendError> {
    let workspace = message.workspace_id;
    send_chat_messages(deps, workspace, vec![message])
        .await?
        .pop()
        .unwrap_or_else(|| Err(ValidationError::field("body", "was not sent").into()))
}

/// Renders, stores and publishes chat messages of `workspace`, each as it
/// would be alone: its template rendered for its contact (and sender),
/// its email plan decided, then all of them stored in one transaction
/// (`ConversationStore::append_messages`) and the bus told once. Each
/// message succeeds or fails on its own, in order; an `Err` of the whole
/// means nothing was stored.
pub async fn send_chat_messages(
    deps: Deps<'_>,
    workspace: WorkspaceId,
    messages: Vec<ChatMessage>,
) -> Result<Vec<Result<StoredMessage, SendError>>, StoreError> {
    // Bodies are checked and compiled once each (a bulk send's share one)
    // and before anything is read.
    let mut templates = HashMap::new();
    for message in &messages {
        templates.entry(message.body.as_str()).or_insert_with(|| {
            if message.body.trim().is_empty() && !message.attachments.is_empty() {
                Ok(SnippetTemplate::blank())
            } else {
                SnippetTemplate::parse(&message.body)
            }
        });
    }
    let compiled: HashMap<&str, Result<CompiledTemplate<'_>, TemplateError>> = templates
        .iter()
        .map(|(body, parsed)| {
            let compiled = match parsed {
                Ok(template) => template.compile(),
                Err(err) => Err(err.clone()),
            };
            (*body, compiled)
        })
        .collect();
    // What needs no read is checked first: a message refused here costs
    // no query.
    let mut results: Vec<Option<Result<StoredMessage, SendError>>> = Vec::new();
    let mut checked = Vec::new();
    for (slot, message) in messages.iter().enumerate() {
        match check(message, workspace, &compiled) {
            Ok(template) => {
                results.push(None);
                checked.push((slot, message, template));
            }
            Err(refused) => results.push(Some(Err(refused))),
        }
    }
    if checked.is_empty() {
        return Ok(results.into_iter().flatten().collect());
    }
    let readable: Vec<&ChatMessage> = checked.iter().map(|(_, message, _)| *message).collect();
    let contexts = load_contexts(deps, workspace, &readable).await?;
    let now = deps.clock.now();
    let mut slots = Vec::new();
    let mut news = Vec::new();
    for ((slot, message, template), context) in checked.into_iter().zip(contexts) {
        match context.and_then(|context| prepare(message, template, &context, now)) {
            Ok(new) => {
                slots.push(slot);
                news.push(new);
            }
            Err(refused) => results[slot] = Some(Err(refused)),
        }
    }
    let stored = if news.is_empty() {
        Vec::new()
    } else {
        deps.store.append_messages(news).await?
    };
    let mut last = None;
    for (slot, result) in slots.into_iter().zip(stored) {
        results[slot] = Some(match result {
            Ok(stored) => {
                last = last.max(Some(stored.seq));
                Ok(stored)
            }
            // Only now, when the store refused, look again to say which id
            // is wrong.
            Err(StoreError::NotFound) => Err(explain_refusal(deps, &messages[slot]).await),
            Err(other) => Err(SendError::Store(other)),
        });
    }
    if let Some(seq) = last {
        deps.bus.publish(workspace, seq);
    }
    for (message, result) in messages.iter().zip(&results) {
        if let Some(Ok(_)) = result {
            metrics::counter!("rapport_messages_total", "source" => message.source()).increment(1);
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(SendError::NotFound("contact_id"))))
        .collect())
}

/// Renders one chat message for its contact and decides its conversation
/// and email plan, without storing it: for a caller that stores it in a
/// transaction of its own (an automation's step, written with the run's
/// advance). The store's `append_messages` is still what writes it.
pub async fn prepare_chat_message(
    deps: Deps<'_>,
    message: ChatMessage,
) -> Result<NewMessage, SendError> {
    let template = SnippetTemplate::parse(&message.body)?;
    let compiled = template.compile()?;
    let mut templates = HashMap::new();
    templates.insert(message.body.as_str(), Ok(compiled));
    let template = check(&message, message.workspace_id, &templates)?;
    let context = load_contexts(deps, message.workspace_id, &[&message])
        .await?
        .pop()
        .unwrap_or(Err(SendError::NotFound("contact_id")))?;
    prepare(&message, template, &context, deps.clock.now())
}

/// What a message must be before anything is read for it: of the
/// workspace, with a body that compiled, and no note that starts a
/// conversation. Returns its compiled template.
fn check<'a, 't>(
    message: &ChatMessage,
    workspace: WorkspaceId,
    compiled: &'a HashMap<&str, Result<CompiledTemplate<'t>, TemplateError>>,
) -> Result<&'a CompiledTemplate<'t>, SendError> {
    if message.workspace_id != workspace {
        return Err(ValidationError::field(
            "workspace_id",
            "messages sent together are of one workspace",
        )
        .into());
    }
    let template = match compiled.get(message.body.as_str()) {
        Some(Ok(template)) => template,
        Some(Err(err)) => return Err(err.clone().into()),
        None => return Err(ValidationError::field("body", "was not checked").into()),
    };
    if message.conversation_id.is_none() && message.kind == PartKind::Note {
        return Err(ValidationError::field(
            "type",
            "a note can only be added to an existing conversation",
        )
        .into());
    }
    Ok(template)
}

/// What rendering each message needs (the workspace, its contact and its
/// sender), or why there is none: one read for a single message, three
/// for a batch (the workspace, its contacts, each sender once).
async fn load_contexts(
    deps: Deps<'_>,
    workspace: WorkspaceId,
    messages: &[&ChatMessage],
) -> Result<Vec<Result<MessageContext, SendError>>, StoreError> {
    let sender = |message: &&ChatMessage| match message.from {
        Author::Agent(id) => Some(id),
        _ => None,
    };
    if let [message] = messages {
        let agent = sender(message);
        let loaded = match deps
            .store
            .message_context(message.workspace_id, message.contact_id, agent)
            .await
        {
            Ok(loaded) if agent.is_some() && loaded.agent.is_none() => {
                Err(SendError::NotFound("from_agent_id"))
            }
            Ok(loaded) => Ok(loaded),
            Err(StoreError::NotFound) => Err(SendError::NotFound("contact_id")),
            Err(other) => return Err(other),
        };
        return Ok(vec![loaded]);
    }
    let ws = deps.store.workspace(workspace).await?;
    let ids: Vec<ContactId> = messages.iter().map(|m| m.contact_id).collect();
    let contacts: HashMap<ContactId, Contact> = deps
        .store
        .contacts(workspace, &ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut agents: HashMap<AgentId, Option<Agent>> = HashMap::new();
    for id in messages.iter().filter_map(sender) {
        if let std::collections::hash_map::Entry::Vacant(slot) = agents.entry(id) {
            slot.insert(match deps.store.agent(workspace, id).await {
                Ok(agent) => Some(agent),
                Err(StoreError::NotFound) => None,
                Err(other) => return Err(other),
            });
        }
    }
    Ok(messages
        .iter()
        .map(|message| {
            let contact = contacts
                .get(&message.contact_id)
                .ok_or(SendError::NotFound("contact_id"))?;
            let agent = match sender(message) {
                Some(id) => Some(
                    agents
                        .get(&id)
                        .cloned()
                        .flatten()
                        .ok_or(SendError::NotFound("from_agent_id"))?,
                ),
                None => None,
            };
            Ok(MessageContext {
                workspace: ws.clone(),
                contact: contact.clone(),
                agent,
            })
        })
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
        origin: message.origin.clone(),
        attachments: message.attachments.clone(),
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
        origin: None,
        attachments: Vec::new(),
    };
    let context = load_contexts(deps, workspace_id, &[&message])
        .await?
        .pop()
        .unwrap_or(Err(SendError::NotFound("contact_id")))?;
    render_loaded(&message, &template.compile()?, &context)
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
    if body.trim().is_empty() && message.attachments.is_empty() {
        return Err(
            ValidationError::field("body", "renders to an empty message for this contact").into(),
        );
    }
    Ok(body)
}
