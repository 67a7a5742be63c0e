package beckon

import (
	"context"
	"time"
)

// RetentionPurgeParams says what one purge statement per table removes.
type RetentionPurgeParams struct {
	// BodiesBefore: message bodies, inbound texts and the contents of
	// provider calls and message sends from before this are blanked. Zero:
	// none.
	BodiesBefore time.Time
	// ArchivesBefore: raw feed archive rows received before this are
	// deleted. Zero: none.
	ArchivesBefore time.Time
	// Limit bounds the rows each statement touches. Default 1000.
	Limit int
}

// RetentionPurged counts the rows one purge touched, per table.
type RetentionPurged struct {
	Messages     int // message log rows whose subject, body and html were blanked
	Outbox       int // outbox entries blanked
	SendCalls    int // provider call records blanked
	SendMessages int // message sends whose text and data were blanked
	InboundSMS   int // inbound texts blanked
	Archives     int // raw feed archive rows deleted
}

// Total is the rows touched in every table.
func (r RetentionPurged) Total() int {
	return r.Messages + r.Outbox + r.SendCalls + r.SendMessages + r.InboundSMS + r.Archives
}

// Max is the most rows touched in one table: a purge whose Max is below its
// Limit left nothing behind.
func (r RetentionPurged) Max() int {
	return max(r.Messages, r.Outbox, r.SendCalls, r.SendMessages, r.InboundSMS, r.Archives)
}

// RetentionQuerier purges what is kept only for a while. Ids, statuses,
// times, the consent ledger and the audit trail are never purged.
type RetentionQuerier interface {
	// RetentionPurge runs one statement per table, each touching at most
	// Limit rows, so that no statement holds its locks for long: call it
	// again while Max() reaches Limit. It never blanks what a send still
	// needs (a send not yet final, a provider call whose send is claimed or
	// unknown, an inbound text not yet interpreted) and is idempotent: rows
	// already purged are not touched again.
	RetentionPurge(ctx context.Context, p RetentionPurgeParams) (RetentionPurged, error)
}
