package channels

// Paced is implemented by channels whose sender has a rate limit shared by
// every worker (a Twilio number or messaging service, a SendGrid account).
// The worker reserves a slot under Key before each send.
type Paced interface {
	// Pace returns the bucket key of the sender (no secrets, no PHI) and the
	// messages per second it may send.
	Pace() (key string, perSecond float64)
}
