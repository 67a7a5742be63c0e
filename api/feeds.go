package api

import (
	"net/http"
	"time"

	"github.com/beckonhealth/beckon/feeds"
)

// registerFeeds registers the EHR feeds (HL7 v2 over HTTP, FHIR R4) and the
// clinic-side confirmation endpoint.
func (s *Server) registerFeeds() {
	clock := s.cfg.Clock
	if clock == nil && s.svc != nil {
		clock = s.svc.Clock
	}
	hl7 := &feeds.HL7Processor{Store: s.store, Service: s.svc, Clock: clock, Logger: s.logger, Metrics: s.cfg.Metrics}
	s.handle("POST /hl7/v2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handleHL7(hl7, w, r) }))
	s.registerConfirmation()
	s.registerFHIR(&feeds.FHIRProcessor{
		Store: s.store, Service: s.svc, Clock: clock, Logger: s.logger, Metrics: s.cfg.Metrics,
		Client: s.cfg.Egress.Client(15*time.Second, s.logger), // fetches from the EHR's FHIR base
	})
	s.registerFeedSettings()
}
