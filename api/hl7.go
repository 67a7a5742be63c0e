package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/feeds"
)

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
// AR); 422 (with the AE or AR) when the body is not text in the character
// set MSH-18 declares (a NUL, invalid UTF-8) or that character set is not
// one Beckon takes; 503 when Beckon failed and the sender should retry;
// 401/403/413 for requests that never reached HL7.
func (s *Server) handleHL7(p *feeds.HL7Processor, w http.ResponseWriter, r *http.Request) {
	key, ok := s.requireKey(w, r, writeError, beckon.RoleAdmin, beckon.RoleEHR)
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
	res := p.Process(r.Context(), feeds.HL7Input{
		ClinicID:  key.ClinicID,
		Transport: beckon.TransportHTTP,
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
func (s *Server) requireKey(w http.ResponseWriter, r *http.Request, fail func(http.ResponseWriter, *Error), roles ...beckon.Role) (beckon.APIKey, bool) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" {
		fail(w, newError(http.StatusUnauthorized, CodeUnauthorized, "missing bearer API key in the Authorization header"))
		return beckon.APIKey{}, false
	}
	key, err := s.store.APIKeyGetByHash(r.Context(), HashKey(secret))
	if errors.Is(err, beckon.ErrNotFound) {
		fail(w, newError(http.StatusUnauthorized, CodeUnauthorized, "unknown API key"))
		return beckon.APIKey{}, false
	}
	if err != nil {
		s.logger.Error("api key lookup failed", slog.String("error", err.Error()))
		fail(w, newError(http.StatusServiceUnavailable, CodeUnavailable, "cannot check the API key now"))
		return beckon.APIKey{}, false
	}
	if !slices.Contains(roles, key.Role) {
		fail(w, newError(http.StatusForbidden, CodeForbidden, "this API key's role ("+string(key.Role)+") may not do this"))
		return beckon.APIKey{}, false
	}
	return key, true
}
