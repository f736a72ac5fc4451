//! The REST API under `/api/v1`. Handlers are thin: parse the request into
//! domain terms, call a service in `rapport-core`, shape the response.

pub mod articles;
pub mod attachments;
pub mod automation_runs;
pub mod automations;
pub mod bot;
pub mod bulk_sends;
pub mod contacts;
pub mod conversation_tags;
pub mod conversations;
pub mod data_requests;
pub mod email;
pub mod import;
pub mod messages;
pub mod people;
pub mod reports;
pub mod saved_replies;
pub mod session;
pub mod settings;
pub mod team;
pub mod teams;
pub mod templates;
pub mod webhooks;
pub mod widget;
pub mod widget_help;

pub mod shared;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The messenger's API, under `/widget/v1`.
pub fn widget_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(widget::boot))
        .routes(routes!(widget::list, widget::start))
        .routes(routes!(widget::thread))
        .routes(routes!(widget::reply))
        .routes(routes!(widget::read))
        .routes(routes!(widget::rate))
        .routes(routes!(widget::track))
        .routes(routes!(widget::update))
        .routes(routes!(widget::shutdown))
        .routes(routes!(widget_help::help_search))
        .routes(routes!(attachments::widget_upload))
        .routes(routes!(attachments::widget_download))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(contacts::upsert_contact, people::list_contacts))
        .routes(routes!(
            contacts::get_contact,
            contacts::update_contact,
            data_requests::erase_contact
        ))
        .routes(routes!(data_requests::export_contact))
        .routes(routes!(data_requests::get_erasure))
        .routes(routes!(people::search_contacts))
        .routes(routes!(import::import))
        .routes(routes!(people::schema))
        .routes(routes!(people::list_properties))
        .routes(routes!(people::save_property))
        .routes(routes!(people::list_segments, people::create_segment))
        .routes(routes!(people::update_segment, people::delete_segment))
        .routes(routes!(contacts::add_tag))
        .routes(routes!(contacts::remove_tag))
        .routes(routes!(
            automations::list_automations,
            automations::create_automation
        ))
        .routes(routes!(
            automations::get_automation,
            automations::save_automation,
            automations::delete_automation
        ))
        .routes(routes!(automations::publish_automation))
        .routes(routes!(automations::pause_automation))
        .routes(routes!(automations::resume_automation))
        .routes(routes!(automations::automation_versions))
        .routes(routes!(automations::automation_stats))
        .routes(routes!(automations::export_automation))
        .routes(routes!(automations::simulate_automation))
        .routes(routes!(
            automation_runs::list_runs,
            automation_runs::start_run
        ))
        .routes(routes!(automation_runs::get_run))
        .routes(routes!(automation_runs::stop_run))
        .routes(routes!(
            automation_runs::get_office,
            automation_runs::put_office
        ))
        .routes(routes!(automation_runs::team_availability))
        .routes(routes!(automation_runs::set_availability))
        .routes(routes!(
            saved_replies::list_saved_replies,
            saved_replies::create_saved_reply
        ))
        .routes(routes!(
            saved_replies::get_saved_reply,
            saved_replies::update_saved_reply,
            saved_replies::delete_saved_reply
        ))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(teams::list_teams, teams::create_team))
        .routes(routes!(teams::update_team, teams::delete_team))
        .routes(routes!(articles::list_articles, articles::create_article))
        .routes(routes!(articles::search_articles))
        .routes(routes!(articles::import_articles))
        .routes(routes!(articles::export_articles))
        .routes(routes!(
            articles::get_article,
            articles::update_article,
            articles::delete_article
        ))
        .routes(routes!(articles::article_revisions))
        .routes(routes!(bot::get_bot_settings, bot::put_bot_settings))
        .routes(routes!(bot::bot_report))
        .routes(routes!(bot::suggest_reply))
        .routes(routes!(bulk_sends::create, bulk_sends::list))
        .routes(routes!(bulk_sends::get))
        .routes(routes!(bulk_sends::cancel))
        .routes(routes!(contacts::track_event))
        .routes(routes!(contacts::timeline))
        .routes(routes!(messages::send_message))
        .routes(routes!(conversations::list_conversations))
        .routes(routes!(conversation_tags::search))
        .routes(routes!(attachments::upload_file))
        .routes(routes!(attachments::download))
        .routes(routes!(reports::report))
        .routes(routes!(reports::report_csv))
        .routes(routes!(conversation_tags::list_tags))
        .routes(routes!(conversation_tags::add_tag))
        .routes(routes!(conversation_tags::remove_tag))
        .routes(routes!(conversations::get_conversation))
        .routes(routes!(conversations::reply))
        .routes(routes!(conversations::assign))
        .routes(routes!(conversations::close))
        .routes(routes!(conversations::open))
        .routes(routes!(conversations::snooze))
        .routes(routes!(team::list_agents, team::create_agent))
        .routes(routes!(team::remove_agent))
        .routes(routes!(team::change_password))
        .routes(routes!(
            team::get_email_notifications,
            team::put_email_notifications
        ))
        .routes(routes!(team::list_tokens, team::create_token))
        .routes(routes!(team::revoke_token))
        .routes(routes!(templates::preview))
        .routes(routes!(
            session::sign_in,
            session::current_session,
            session::sign_out
        ))
        .routes(routes!(session::setup_state, session::setup))
        .routes(routes!(settings::get_workspace, settings::update_workspace))
        .routes(routes!(settings::rotate_identity_secret))
        .routes(routes!(settings::set_presence))
        // Raw emails may carry attachments: read to `inbound_email_limit`.
        .routes(routes!(email::inbound))
        .routes(routes!(email::send_test))
}
