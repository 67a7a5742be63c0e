package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/scheduler"
	"github.com/beckonhealth/beckon/store"
)

// HL7Processor applies inbound HL7 v2 messages: parse, map, apply through the
// planning service, archive raw with the outcome, and acknowledge. MLLP, POST
// /hl7/v2 and replay share it.
type HL7Processor struct {
	Store   store.Store
	Service *scheduler.Service
	Clock   scheduler.Clock
	Logger  *slog.Logger

	zones zoneCache           // clinics' time zones, checked again when applying
	plans scheduler.PlanCache // clinics and campaigns, checked again when applying
}

// HL7Input is one message to process.
type HL7Input struct {
	// ClinicID is the clinic the message belongs to; empty to resolve it from
	// the sending facility (MSH-4) through the clinics' allow-lists.
	ClinicID  string
	Transport string // store.TransportMLLP, TransportHTTP, TransportReplay
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
	Result   string // store.FeedApplied, …
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

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// isText reports whether s is valid UTF-8 without NUL bytes: what both
// databases keep in a TEXT column.
func isText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// hl7MediaType is what POST /hl7/v2 answers (HL7 over HTTP).
const hl7MediaType = "x-application/hl7-v2+er7; charset=utf-8"

// handleHL7 is POST /hl7/v2: the body is one ER7 message, the answer its
// ACK. The HTTP status is 200 whenever the ACK carries the verdict (AA, AE,
// AR); 422 (with the AE or AR) when the body is not text in the character
// set MSH-18 declares (a NUL, invalid UTF-8) or that character set is not
// one Beckon takes; 503 when Beckon failed and the sender should retry;
// 401/403/413 for requests that never reached HL7.
func (s *Server) handleHL7(p *HL7Processor, w http.ResponseWriter, r *http.Request) {
	key, ok := s.requireKey(w, r, writeError, store.RoleAdmin, store.RoleEHR)
	if !ok {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, ehr.MaxMessageSize+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, newError(http.StatusRequestEntityTooLarge, CodeTooLarge, "an HL7 message may be at most 1 MiB"))
			return
		}
		writeError(w, newError(http.StatusBadRequest, CodeBadRequest, "could not read the body"))
		return
	}
	if len(raw) > ehr.MaxMessageSize {
		w.Header().Set("Connection", "close")
		writeError(w, newError(http.StatusRequestEntityTooLarge, CodeTooLarge, "an HL7 message may be at most 1 MiB"))
		return
	}
	res := p.Process(r.Context(), HL7Input{
		ClinicID:  key.ClinicID,
		Transport: store.TransportHTTP,
		Raw:       raw,
		Actor:     actor(key),
		Archive:   true,
	})
	w.Header().Set("Content-Type", hl7MediaType)
	status := http.StatusOK
	switch {
	case res.Internal:
		status = http.StatusServiceUnavailable
	case res.Unreadable:
		status = http.StatusUnprocessableEntity
	}
	w.WriteHeader(status)
	_, _ = w.Write(res.Ack)
}

// requireKey authenticates a plain (non-huma) handler's request; on failure
// it has written the answer with fail and returns false.
func (s *Server) requireKey(w http.ResponseWriter, r *http.Request, fail func(http.ResponseWriter, *Error), roles ...string) (store.APIKey, bool) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" {
		fail(w, newError(http.StatusUnauthorized, CodeUnauthorized, "missing bearer API key in the Authorization header"))
		return store.APIKey{}, false
	}
	key, err := s.store.APIKeyGetByHash(r.Context(), HashKey(secret))
	if errors.Is(err, store.ErrNotFound) {
		fail(w, newError(http.StatusUnauthorized, CodeUnauthorized, "unknown API key"))
		return store.APIKey{}, false
	}
	if err != nil {
		s.logger.Error("api key lookup failed", slog.String("error", err.Error()))
		fail(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "cannot check the API key now"))
		return store.APIKey{}, false
	}
	if !contains(roles, key.Role) {
		fail(w, newError(http.StatusForbidden, CodeForbidden, "this API key's role ("+key.Role+") may not do this"))
		return store.APIKey{}, false
	}
	return key, true
}
