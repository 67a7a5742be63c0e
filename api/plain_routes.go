package api

import "net/http"

// Plain routes are handlers on the mux outside huma (the EHR feeds, the
// provider webhooks, the email link pages, the docs). They are registered
// through handle so that the server knows them: openapi_plain.go documents
// each by hand, and a test checks that none is missing from the document.

// plainRoute is one mux pattern outside huma.
type plainRoute struct {
	pattern string
	// documented is false for the routes that are not part of the API (the
	// reference page and its assets, a trailing-slash alias).
	documented bool
}

// handle registers a plain route that the OpenAPI document describes.
func (s *Server) handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.plain = append(s.plain, plainRoute{pattern: pattern, documented: true})
}

// handleUndocumented registers a plain route that is not an API operation.
func (s *Server) handleUndocumented(pattern string, h http.Handler) {
	s.mux.Handle(pattern, h)
	s.plain = append(s.plain, plainRoute{pattern: pattern})
}
