-- Partial indexes for the queues kept in tables: the pump reads planned sends
-- by due time, the stale-claim sweep claimed sends by claim time, and the
-- write-back retry pending write-backs by last update. Indexing only those
-- rows keeps the indexes the size of the queue, not of the history, and a
-- send that moves on to sent/skipped/... no longer adds entries to them.
-- They hold the time alone, not the id: with the id in them, PostgreSQL would
-- use them for "status = 'planned' AND id IN (…)" (a claim) as an index
-- condition on a non-leading column, scanning the whole queue instead of
-- looking the ids up in the primary key.
-- messages_send goes: no query looks messages up by send (a send holds its
-- message's id), and every message delivered paid for its entry.

-- +goose Up
DROP INDEX sends_due;
CREATE INDEX sends_due ON sends (due_at) WHERE status = 'planned';
DROP INDEX sends_claimed;
CREATE INDEX sends_claimed ON sends (claimed_at) WHERE status = 'claimed';
CREATE INDEX writebacks_pending ON writebacks (updated_at) WHERE status = 'pending';
DROP INDEX messages_send;

-- +goose Down
CREATE INDEX messages_send ON messages (send_id);
DROP INDEX writebacks_pending;
DROP INDEX sends_claimed;
CREATE INDEX sends_claimed ON sends (status, claimed_at, id);
DROP INDEX sends_due;
CREATE INDEX sends_due ON sends (status, due_at, id);
