package feeds

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/scheduler"
)

// HL7Processor applies inbound HL7 v2 messages: parse, map, apply through the
// planning service, archive raw with the outcome, and acknowledge. MLLP, POST
// /hl7/v2 and replay share it.
type HL7Processor struct {
	Store   beckon.Store
	Service *scheduler.Service
	Clock   beckon.Clock
	Logger  *slog.Logger
	// Metrics counts the messages (replays aside) by outcome; nil: none.
	Metrics Metrics

	zones zoneCache           // clinics' time zones, checked again when applying
	plans scheduler.PlanCache // clinics and campaigns, checked again when applying
}

// HL7Input is one message to process.
type HL7Input struct {
	// ClinicID is the clinic the message belongs to; empty to resolve it from
	// the sending facility (MSH-4) through the clinics' allow-lists.
	ClinicID  string
	Transport string // beckon.TransportMLLP, TransportHTTP, TransportReplay
	Raw       []byte
	Actor     string
	// Archive: keep the message in the inbound archive (false when replaying
	// an archived message).
	Archive bool
}

// HL7Result is what became of a message.
type HL7Result struct {
	Ack      []byte
	Code     ehr.AckCode
	Result   string // beckon.FeedApplied, …
	Internal bool   // Beckon failed, not the message: the sender should retry
	// Unreadable: the message's bytes are not text in its character set (a
	// NUL, invalid UTF-8), or its character set is one Beckon does not take.
	// It is refused for good (AE or AR); over HTTP, a 422.
	Unreadable bool
	ClinicID   string
}

// Process handles one message and returns its acknowledgement; it never
// fails (a failure is an AE with code 207, archived for replay).
func (p *HL7Processor) Process(ctx context.Context, in HL7Input) HL7Result {
	it := p.prepare(ctx, in)
	p.apply(ctx, []*hl7Item{it})
	return p.answer(it)
}

// truncate cuts s to at most n bytes (ids and details kept in the archive).
func truncate(s string, n int) string { return s[:min(len(s), n)] }

// isText reports whether s is valid UTF-8 without NUL bytes: what both
// databases keep in a TEXT column.
func isText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
