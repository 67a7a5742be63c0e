-- Partial indexes for the queues kept in tables: the pump reads planned sends
-- by due time, the stale-claim sweep claimed sends by claim time, and the
-- write-back retry pending write-backs by last update. Indexing only those
-- rows keeps the indexes the size of the queue, not of the history, and a
-- send that moves on to sent/skipped/... no longer adds entries to them.

-- +goose Up
DROP INDEX sends_due;
CREATE INDEX sends_due ON sends (due_at, id) WHERE status = 'planned';
DROP INDEX sends_claimed;
CREATE INDEX sends_claimed ON sends (claimed_at, id) WHERE status = 'claimed';
CREATE INDEX writebacks_pending ON writebacks (updated_at, id) WHERE status = 'pending';

-- +goose Down
DROP INDEX writebacks_pending;
DROP INDEX sends_claimed;
CREATE INDEX sends_claimed ON sends (status, claimed_at, id);
DROP INDEX sends_due;
CREATE INDEX sends_due ON sends (status, due_at, id);
