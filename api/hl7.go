package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

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
	ClinicID string
}

// Process handles one message and returns its acknowledgement; it never
// fails (a failure is an AE with code 207, archived for replay).
func (p *HL7Processor) Process(ctx context.Context, in HL7Input) HL7Result {
	now := p.Clock.Now()
	sum := sha256.Sum256(in.Raw)
	digest := hex.EncodeToString(sum[:])
	res := HL7Result{ClinicID: in.ClinicID}
	var (
		msg            *ehr.Message
		ackErr         error
		apptID, detail string
	)
	finish := func() HL7Result {
		if ackErr != nil {
			var e *ehr.Error
			if errors.As(ackErr, &e) {
				detail = e.Error()
			}
		}
		if msg == nil {
			msg, _ = ehr.Parse(in.Raw)
		}
		res.Ack = ehr.Ack(msg, res.Code, ackErr, now, store.NewID("ACK"))
		if in.Archive {
			controlID := ""
			if msg != nil {
				controlID = truncate(msg.ControlID(), 200)
			}
			err := p.Store.InboundInsert(context.WithoutCancel(ctx), store.InboundMessage{
				ClinicID:      res.ClinicID,
				Transport:     in.Transport,
				Format:        store.FormatHL7v2,
				ControlID:     controlID,
				Digest:        digest,
				Body:          string(in.Raw),
				Outcome:       string(res.Code),
				Result:        res.Result,
				Detail:        detail,
				AppointmentID: apptID,
				ReceivedAt:    now,
			})
			if err != nil {
				p.Logger.Error("inbound archive failed", slog.String("clinic_id", res.ClinicID), slog.String("error", err.Error()))
			}
		}
		p.Logger.Info("hl7 message",
			slog.String("clinic_id", res.ClinicID),
			slog.String("transport", in.Transport),
			slog.String("ack", string(res.Code)),
			slog.String("result", res.Result),
			slog.String("appointment_id", apptID),
			slog.Int("size", len(in.Raw)))
		return res
	}
	reject := func(code ehr.AckCode, err error) HL7Result {
		res.Code, res.Result, ackErr = code, store.FeedRejected, err
		return finish()
	}
	internal := func(err error) HL7Result {
		p.Logger.Error("hl7 message failed", slog.String("clinic_id", res.ClinicID), slog.String("error", err.Error()))
		res.Internal = true
		res.Code, res.Result = ehr.AE, store.FeedError
		ackErr = &ehr.Error{Code: ehr.CodeInternalError, Reason: "the message could not be applied now; send it again later"}
		return finish()
	}

	m, err := ehr.Parse(in.Raw)
	if err != nil {
		return reject(ehr.AR, err)
	}
	msg = m
	if res.ClinicID == "" {
		facility := strings.TrimSpace(m.Get("MSH-4.1"))
		if facility == "" {
			facility = strings.TrimSpace(m.Get("MSH-4.2"))
		}
		id, err := p.Store.FeedClinicByFacility(ctx, facility)
		if errors.Is(err, store.ErrNotFound) || (err == nil && facility == "") {
			return reject(ehr.AR, &ehr.Error{Code: ehr.CodeTableValueNotFound, Segment: "MSH", Sequence: 1, Field: 4,
				Reason: "the sending facility is not on any clinic's allow-list"})
		}
		if err != nil {
			return internal(err)
		}
		res.ClinicID = id
	}
	clinic, err := p.Store.ClinicGet(ctx, res.ClinicID)
	if err != nil {
		return internal(err)
	}
	loc, err := time.LoadLocation(clinic.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	out := ehr.Mapper{Location: loc}.Classify(in.Raw)
	if out.Code != ehr.AA {
		return reject(out.Code, out.Err)
	}
	apptID = truncate(out.Event.AppointmentID, 200)
	fr, err := p.Service.ApplyEvent(ctx, res.ClinicID, scheduler.FeedEventFromSIU(out.Event, digest), in.Actor)
	switch {
	case errors.Is(err, scheduler.ErrUnknownPatient), errors.Is(err, scheduler.ErrIncompleteEvent):
		return reject(ehr.AE, &ehr.Error{Code: ehr.CodeRequiredFieldMissing, Segment: "PID", Sequence: 1, Field: 3,
			Reason: "the appointment is not known and the message does not carry the patient and start a booking needs"})
	case err != nil:
		return internal(err)
	}
	res.Code, res.Result = ehr.AA, fr.Result
	return finish()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// hl7MediaType is what POST /hl7/v2 answers (HL7 over HTTP).
const hl7MediaType = "x-application/hl7-v2+er7; charset=utf-8"

// handleHL7 is POST /hl7/v2: the body is one ER7 message, the answer its
// ACK. The HTTP status is 200 whenever the ACK carries the verdict (AA, AE,
// AR); 503 when Beckon failed and the sender should retry; 401/403/413 for
// requests that never reached HL7.
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
	if res.Internal {
		status = http.StatusServiceUnavailable
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
