-- The team's tags on conversations.
CREATE TABLE conversation_tags (
    conversation_id UUID NOT NULL REFERENCES conversations (id),
    tag TEXT NOT NULL,
    workspace_id UUID NOT NULL REFERENCES workspaces (id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_by_tag ON conversation_tags (workspace_id, tag);

-- Full-text search over messages: the 'simple' configuration (lowercased
-- words, no stemming, no stop words), with the characters that make
-- PostgreSQL's parser keep an email address, a host, a path or a number
-- with its decimals as one word turned into spaces first, so words are
-- split as SQLite's index splits them. The search's query repeats this
-- expression exactly (conversation_tags.rs, SEARCH_VECTOR).
CREATE INDEX messages_search ON messages
    USING gin (to_tsvector('simple', translate(body, '@./:_-+=#?&%~', '             ')));
