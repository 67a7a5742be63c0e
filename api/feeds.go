package api

import (
	"net/http"

	"github.com/beckonhealth/beckon/feeds"
)

// registerFeeds registers the EHR feeds (HL7 v2 over HTTP, FHIR R4) and the
// clinic-side confirmation endpoint.
func (s *Server) registerFeeds() {
	hl7 := &feeds.HL7Processor{Store: s.store, Service: s.svc, Clock: s.cfg.Clock, Logger: s.logger}
	if hl7.Clock == nil && s.svc != nil {
		hl7.Clock = s.svc.Clock
	}
	s.mux.HandleFunc("POST /hl7/v2", func(w http.ResponseWriter, r *http.Request) { s.handleHL7(hl7, w, r) })
	s.registerConfirmation()
	s.registerFHIR()
	s.registerFeedSettings()
}
