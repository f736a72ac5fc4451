-- The knowledge base (articles and their revisions) and the AI bot.

CREATE TABLE articles (
    id BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    collection TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    body TEXT NOT NULL,
    author_id BLOB,
    revision INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    CONSTRAINT articles_slug_per_workspace UNIQUE (workspace_id, slug)
);
CREATE INDEX articles_by_change ON articles (workspace_id, updated_at, id);

CREATE TABLE article_revisions (
    article_id BLOB NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    workspace_id BLOB NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    collection TEXT NOT NULL,
    language TEXT NOT NULL,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (article_id, revision)
);

-- Moves on with every write to a workspace's articles: a search index
-- built at one version is current while it holds.
CREATE TABLE knowledge_versions (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces (id),
    version INTEGER NOT NULL
);

CREATE TABLE bot_settings (
    workspace_id BLOB PRIMARY KEY REFERENCES workspaces (id),
    enabled BOOLEAN NOT NULL,
    settings TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE bot_conversations (
    conversation_id BLOB PRIMARY KEY REFERENCES conversations (id),
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    phase TEXT NOT NULL,
    handled_seq INTEGER NOT NULL,
    unhelpful INTEGER NOT NULL,
    answers INTEGER NOT NULL,
    offered_person BOOLEAN NOT NULL,
    last_answer_at INTEGER,
    outcome TEXT,
    outcome_reason TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX bot_conversations_by_start ON bot_conversations (workspace_id, created_at);

-- Each question the bot was asked, for the report. No reference to the
-- article: its answers still count after it is deleted.
CREATE TABLE bot_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id BLOB NOT NULL REFERENCES workspaces (id),
    conversation_id BLOB NOT NULL,
    question TEXT NOT NULL,
    article_id BLOB,
    confidence REAL NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX bot_answers_by_time ON bot_answers (workspace_id, at);
