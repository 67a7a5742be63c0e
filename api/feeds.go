package api

// registerFeeds registers the EHR feeds (HL7 v2 over HTTP, FHIR R4) and the
// clinic-side confirmation endpoint.
func (s *Server) registerFeeds() {}
