//! The AI bot's turn on a contact's message: it answers from the
//! knowledge base when it is sure enough (the passage itself, with a link
//! to its article: it never invents text), says so and offers a person
//! when it is not, and hands over whenever it is asked to. Handover is an
//! action (an assignment and a message with the reply time), never words
//! in a reply. Each turn is written whole, fenced by the conversation's
//! bot state, so a job run twice answers once.

use crate::Timestamp;
use crate::model::automation::MessageOrigin;
use crate::model::automation::flow::Assignee;
use crate::model::bot::{
    ASSUMED_RESOLVED_AFTER_MILLIS, AnswersWhen, BotAnswer, BotConversation, BotPhase, BotSettings,
    Intent, MAX_QUESTION_CHARS, NO, Outcome, PERSON, Source, UNHELPFUL_TURNS_BEFORE_OFFER, YES,
    intent,
};
use crate::model::conversation::{Author, ConversationChange, PartKind};
use crate::model::ids::{ConversationId, MessageId, WorkspaceId};
use crate::model::job::{Job, NewJob};
use crate::ports::knowledge::SearchHit;
use crate::ports::store::{BotTurn, NewMessage, StoreError};
use crate::services::SendError;
use crate::services::automations::Env;
use crate::services::automations::steps::{available_agents, choose_assignee};
use crate::services::messages::{ChatMessage, prepare_chat_message};

/// What a turn did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    /// The bot stays out, and why.
    Skipped(&'static str),
    Answered,
    /// It did not know, and said so.
    NotKnown,
    HandedOver,
    /// It took the contact's word on its last answer.
    Feedback,
    /// Another worker took this turn.
    Taken,
}

/// The bot's turn on the contact's message `message_id` (at log position
/// `seq`) in `conversation`.
pub async fn respond(
    bot: Env<'_>,
    workspace: WorkspaceId,
    conversation: ConversationId,
    message_id: MessageId,
    seq: i64,
) -> Result<Handled, StoreError> {
    let store = bot.deps.store;
    let now = bot.deps.clock.now();
    let settings = store.bot_settings(workspace).await?;
    if !settings.enabled {
        return Ok(Handled::Skipped("the bot is off"));
    }
    let state = store.bot_conversation(workspace, conversation).await?;
    if let Some(state) = &state {
        if state.handled_seq >= seq {
            return Ok(Handled::Skipped("this message was dealt with"));
        }
        if matches!(state.phase, BotPhase::HandedOver | BotPhase::Out) {
            return Ok(Handled::Skipped("a person has the conversation"));
        }
    }
    let thread = store.conversation(workspace, conversation).await?;
    let parts = store.conversation_parts(workspace, conversation).await?;
    let Some(message) = parts.iter().find(|m| m.id == message_id) else {
        return Ok(Handled::Skipped("the message is gone"));
    };
    let Author::Contact(contact) = message.author else {
        return Ok(Handled::Skipped("not the contact's message"));
    };
    // A person in the conversation (or holding it) keeps it.
    let person_in = parts.iter().any(|m| {
        matches!(m.author, Author::Agent(_)) && m.origin.is_none() && m.kind == PartKind::Comment
    }) || thread.assignee_id.is_some();
    let fresh = state.is_none();
    let mut next = state
        .clone()
        .unwrap_or_else(|| BotConversation::new(workspace, conversation, now));
    next.handled_seq = seq;
    next.updated_at = now;
    let from_seq = state.as_ref().map(|s| s.handled_seq);
    // Why the bot stays out of a conversation it has not taken yet: a
    // person is in it, or its settings give it to the team.
    let out = if person_in {
        if !fresh {
            return Ok(Handled::Skipped("a person has the conversation"));
        }
        Some("a person has the conversation")
    } else if fresh {
        // A chatbot flow asking this contact something has the floor.
        if !store
            .bot_conversations(workspace, &[conversation])
            .await?
            .is_empty()
        {
            return Ok(Handled::Skipped("an automation's bot is asking"));
        }
        stays_out(bot, workspace, &settings, now).await?
    } else {
        None
    };
    if let Some(why) = out {
        next.phase = BotPhase::Out;
        let handled = Handled::Skipped(why);
        return write(
            bot,
            contact,
            from_seq,
            next,
            Vec::new(),
            None,
            None,
            handled,
        )
        .await;
    }
    let turn = Turn {
        bot,
        settings: &settings,
        workspace,
        conversation,
        contact,
        now,
    };
    let text: String = message.body.chars().take(MAX_QUESTION_CHARS).collect();
    let awaiting = next.phase == BotPhase::AwaitingFeedback;
    match intent(&text, awaiting) {
        Intent::Person => turn.hand_over(from_seq, next, "asked for a person").await,
        Intent::Helped => {
            next.phase = BotPhase::Answering;
            next.outcome = Some(Outcome::ResolvedConfirmed);
            next.outcome_reason = None;
            let body = "Glad that helped! Ask me anything else here.";
            turn.reply(from_seq, next, body, &[], Handled::Feedback)
                .await
        }
        Intent::NotHelped => {
            next.phase = BotPhase::Answering;
            next.unhelpful += 1;
            next.outcome = None;
            let body = if next.unhelpful >= UNHELPFUL_TURNS_BEFORE_OFFER && !next.offered_person {
                next.offered_person = true;
                "Sorry that didn't help. Would you like to talk to a person? You can also ask me another way."
            } else {
                "Sorry about that. Could you tell me more, or put it another way?"
            };
            turn.reply(from_seq, next, body, &[PERSON], Handled::Feedback)
                .await
        }
        Intent::Question => turn.answer(from_seq, next, &text).await,
    }
}

/// Why the bot does not take a new conversation, if it does not.
async fn stays_out(
    bot: Env<'_>,
    workspace: WorkspaceId,
    settings: &BotSettings,
    now: Timestamp,
) -> Result<Option<&'static str>, StoreError> {
    Ok(match settings.answers_when {
        AnswersWhen::Always => None,
        AnswersWhen::OutsideHours => {
            let office = bot.deps.store.office(workspace).await?;
            office
                .is_open(now)
                .then_some("it answers outside business hours only")
        }
        AnswersWhen::NoAgentAvailable => {
            let available = available_agents(bot, workspace, None)
                .await
                .map_err(step_error)?;
            (!available.is_empty()).then_some("it answers when no member is available only")
        }
    })
}

fn step_error(err: crate::services::automations::steps::StepError) -> StoreError {
    match err {
        crate::services::automations::steps::StepError::Store(e) => e,
        crate::services::automations::steps::StepError::Impossible(why) => {
            StoreError::Other(why.into())
        }
    }
}

struct Turn<'a> {
    bot: Env<'a>,
    settings: &'a BotSettings,
    workspace: WorkspaceId,
    conversation: ConversationId,
    contact: crate::model::ids::ContactId,
    now: Timestamp,
}

impl Turn<'_> {
    /// One bot message with these buttons, and the state it leaves.
    async fn reply(
        &self,
        from_seq: Option<i64>,
        next: BotConversation,
        body: &str,
        buttons: &[&str],
        handled: Handled,
    ) -> Result<Handled, StoreError> {
        let buttons = buttons.iter().map(|b| (*b).to_owned()).collect();
        let says = self.say(body.to_owned(), buttons, Vec::new()).await?;
        write(
            self.bot,
            self.contact,
            from_seq,
            next,
            says,
            None,
            None,
            handled,
        )
        .await
    }

    /// A bot message in the conversation, through the one message path.
    async fn say(
        &self,
        body: String,
        buttons: Vec<String>,
        sources: Vec<Source>,
    ) -> Result<Vec<NewMessage>, StoreError> {
        // Always an origin: one without an automation marks the AI bot.
        let origin = Some(MessageOrigin {
            cause: None,
            buttons,
            input: None,
            sources,
        });
        let chat = ChatMessage {
            workspace_id: self.workspace,
            from: Author::Bot,
            contact_id: self.contact,
            conversation_id: Some(self.conversation),
            kind: PartKind::Comment,
            body: literal(&body),
            event: None,
            email_fallback: true,
            bulk_send: None,
            origin,
            attachments: Vec::new(),
        };
        match prepare_chat_message(self.bot.deps, chat).await {
            Ok(new) => Ok(vec![new]),
            Err(SendError::Store(err)) => Err(err),
            Err(other) => Err(StoreError::Other(other.to_string().into())),
        }
    }

    async fn answer(
        &self,
        from_seq: Option<i64>,
        mut next: BotConversation,
        question: &str,
    ) -> Result<Handled, StoreError> {
        let hits = self
            .bot
            .knowledge
            .search(self.workspace, question, &self.settings.languages, 3)
            .await?;
        let best = hits
            .first()
            .filter(|h| h.confidence >= self.settings.threshold);
        let answer = BotAnswer {
            conversation_id: self.conversation,
            question: question.trim().chars().take(300).collect(),
            article_id: best.map(|h| h.article_id),
            confidence: hits.first().map_or(0.0, |h| h.confidence),
            at: self.now,
        };
        let confident: Vec<SearchHit> = hits
            .iter()
            .filter(|h| h.confidence >= self.settings.threshold)
            .cloned()
            .collect();
        let composed = match best {
            Some(_) => compose(self.bot, self.workspace, question, &confident).await?,
            None => None,
        };
        let Some((body, sources)) = composed else {
            // Nothing confident enough, or the model found no answer in
            // the passages: say so, and offer a person.
            let offer = !next.offered_person;
            next.unhelpful += 1;
            next.phase = BotPhase::Answering;
            next.outcome = Some(Outcome::Unanswered);
            next.outcome_reason = Some(answer.question.clone());
            next.offered_person = true;
            let body = match (best, offer) {
                (Some(_), _) => {
                    "I couldn't find that in our help articles. Would you like to talk to a person?"
                }
                (None, true) => {
                    "I'm not sure about that one, and I'd rather not guess. Would you like to talk to a person?"
                }
                (None, false) => {
                    "I'm not sure about that one either. You can ask me another way, or talk to a person."
                }
            };
            let says = self
                .say(body.into(), vec![PERSON.into()], Vec::new())
                .await?;
            let answer = BotAnswer {
                article_id: None,
                ..answer
            };
            return write(
                self.bot,
                self.contact,
                from_seq,
                next,
                says,
                None,
                Some(answer),
                Handled::NotKnown,
            )
            .await;
        };
        let mut says = self.say(body, Vec::new(), sources).await?;
        says.extend(
            self.say(
                "Did that help?".into(),
                vec![YES.into(), NO.into(), PERSON.into()],
                Vec::new(),
            )
            .await?,
        );
        next.phase = BotPhase::AwaitingFeedback;
        next.answers += 1;
        next.last_answer_at = Some(self.now);
        next.outcome = None;
        next.outcome_reason = None;
        let settle = NewJob::new(
            self.workspace,
            Job::BotSettle {
                conversation_id: self.conversation,
                answered_at: self.now,
            },
            Timestamp::from_millis(self.now.as_millis() + ASSUMED_RESOLVED_AFTER_MILLIS),
        );
        let mut turn = BotTurn {
            workspace_id: self.workspace,
            contact_id: self.contact,
            from_seq,
            next,
            messages: says,
            change: None,
            jobs: vec![settle],
            answer: Some(answer),
        };
        store_turn(self.bot, &mut turn, Handled::Answered).await
    }

    async fn hand_over(
        &self,
        from_seq: Option<i64>,
        mut next: BotConversation,
        reason: &str,
    ) -> Result<Handled, StoreError> {
        let (assignee, _) = choose_assignee(self.bot, self.workspace, self.settings.handover_to)
            .await
            .or_else(|err| match err {
                // A member named in the settings who has left: the
                // conversation waits for whoever picks it up.
                crate::services::automations::steps::StepError::Impossible(_) => {
                    Ok((None, String::new()))
                }
                other => Err(step_error(other)),
            })?;
        let office = self.bot.deps.store.office(self.workspace).await?;
        let body = format!(
            "I'm passing you to the team; they'll see everything above. {}",
            office.reply_time(self.now)
        );
        let says = self.say(body, Vec::new(), Vec::new()).await?;
        next.phase = BotPhase::HandedOver;
        next.outcome = Some(Outcome::HandedOver);
        next.outcome_reason = Some(reason.to_owned());
        let change = (self.settings.handover_to != Assignee::Nobody || assignee.is_some())
            .then_some(ConversationChange::Assign {
                assignee_id: assignee,
            });
        write(
            self.bot,
            self.contact,
            from_seq,
            next,
            says,
            change,
            None,
            Handled::HandedOver,
        )
        .await
    }
}

/// The answer to `question` from `hits` (the confident passages, best
/// first) and the articles it came from: written by the language model
/// when one is configured and its answer is supported by the passages it
/// cites, else the best passage itself with a link. None when the model
/// says the passages do not answer the question.
pub async fn compose(
    env: Env<'_>,
    workspace: WorkspaceId,
    question: &str,
    hits: &[SearchHit],
) -> Result<Option<(String, Vec<Source>)>, StoreError> {
    let Some(best) = hits.first() else {
        return Ok(None);
    };
    let app_id = env.deps.store.workspace(workspace).await?.app_id;
    let source = |h: &SearchHit| Source {
        article_id: h.article_id,
        title: h.title.clone(),
        url: article_url(env.public_url, &app_id, &h.slug),
    };
    if let Some(writer) = env.writer {
        match writer.write(question, hits).await {
            Ok(Some(draft)) => {
                let mut cited: Vec<&SearchHit> = Vec::new();
                for &i in &draft.cited {
                    if let Some(hit) = hits.get(i)
                        && !cited
                            .iter()
                            .any(|c| c.article_id == hit.article_id && c.heading == hit.heading)
                    {
                        cited.push(hit);
                    }
                }
                let texts: Vec<&str> = cited.iter().map(|h| h.text.as_str()).collect();
                match crate::model::bot::supported(&draft.text, &texts) {
                    Ok(()) => {
                        let mut sources: Vec<Source> = Vec::new();
                        for hit in &cited {
                            if !sources.iter().any(|s| s.article_id == hit.article_id) {
                                sources.push(source(hit));
                            }
                        }
                        let links: Vec<String> = sources
                            .iter()
                            .map(|s| format!("[{}]({})", s.title, s.url))
                            .collect();
                        let body =
                            format!("{}\n\nSources: {}", draft.text.trim(), links.join(", "));
                        return Ok(Some((literal(&body), sources)));
                    }
                    Err(why) => {
                        tracing::info!(%why, "the written answer was refused; answering with the passage");
                    }
                }
            }
            Ok(None) => return Ok(None),
            Err(why) => {
                tracing::warn!(%why, "the language model did not answer; answering with the passage");
            }
        }
    }
    let best_source = source(best);
    let body = format!(
        "{}\n\n[Read more: {}]({})",
        best.text.trim(),
        best.title,
        best_source.url
    );
    Ok(Some((literal(&body), vec![best_source])))
}

/// The help center page of an article (the help center is found by the
/// workspace's public app id, as the widget is).
pub fn article_url(public_url: &str, app_id: &str, slug: &str) -> String {
    format!(
        "{}/help/{app_id}/articles/{slug}",
        public_url.trim_end_matches('/')
    )
}

/// Text sent as it is: the message path renders snippet tags, and an
/// article's braces are not tags.
pub(crate) fn literal(text: &str) -> String {
    if !text.contains('{') {
        return text.to_owned();
    }
    if text.contains("endraw") {
        return text.replace(['{', '}'], "");
    }
    format!("{{% raw %}}{text}{{% endraw %}}")
}

#[allow(clippy::too_many_arguments)]
async fn write(
    bot: Env<'_>,
    contact: crate::model::ids::ContactId,
    from_seq: Option<i64>,
    next: BotConversation,
    messages: Vec<NewMessage>,
    change: Option<ConversationChange>,
    answer: Option<BotAnswer>,
    handled: Handled,
) -> Result<Handled, StoreError> {
    let mut turn = BotTurn {
        workspace_id: next.workspace_id,
        contact_id: contact,
        from_seq,
        next,
        messages,
        change,
        jobs: Vec::new(),
        answer,
    };
    store_turn(bot, &mut turn, handled).await
}

async fn store_turn(
    bot: Env<'_>,
    turn: &mut BotTurn,
    handled: Handled,
) -> Result<Handled, StoreError> {
    let ws = turn.workspace_id;
    match bot.deps.store.bot_turn(turn.clone()).await {
        Ok(done) => {
            if let Some(seq) = done.seq {
                bot.deps.bus.publish(ws, seq);
            }
            Ok(handled)
        }
        Err(StoreError::Conflict(_)) => Ok(Handled::Taken),
        Err(other) => Err(other),
    }
}

/// Records an answer as resolved if nothing more was asked within 24
/// hours (the job `BotSettle`, due then).
pub async fn settle(
    env: Env<'_>,
    workspace: WorkspaceId,
    conversation: ConversationId,
    answered_at: Timestamp,
) -> Result<bool, StoreError> {
    env.deps
        .store
        .settle_bot_outcome(
            workspace,
            conversation,
            answered_at,
            Outcome::ResolvedAssumed,
            env.deps.clock.now(),
        )
        .await
}
