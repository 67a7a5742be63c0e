// Package channelstest is test support for the channel packages: it holds what
// the provider stand-in servers (twilio/twiliotest, sendgrid/sendgridtest)
// share, the log of the requests they received and the script of failures and
// delays a test gives them for the calls to come. Only the stand-ins import
// it; the beckon binary never does.
package channelstest

import (
	"net/http"
	"slices"
	"sync"
	"time"
)

// Script is a stand-in's request log and its script of failures (of type F)
// and delays. Embed it in the server; it is safe for concurrent use. R is the
// server's request record.
type Script[R, F any] struct {
	mu       sync.Mutex
	requests []R
	failures []F
	delays   []time.Duration // per next call
	delayAll time.Duration
	forget   bool    // do not keep requests (Requests stays empty)
	tap      func(R) // sees every request
}

// FailNext makes the next n calls answer f instead of the normal answer.
// Calls queue up: FailNext(1, a); FailNext(1, b) fails the next call with a
// and the one after with b.
func (s *Script[R, F]) FailNext(n int, f F) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// DelayNext makes the next n calls wait d before they answer. The call is
// processed first (a message accepted and recorded), then the answer waits:
// the shape of a response lost to a client timeout. The wait ends early when
// the client goes away.
func (s *Script[R, F]) DelayNext(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.delays = append(s.delays, d)
	}
}

// SetDelay makes every call wait d before it answers (0 to stop).
func (s *Script[R, F]) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delayAll = d
}

// Requests returns a copy of every request received so far.
func (s *Script[R, F]) Requests() []R {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// KeepRequests sets whether requests are kept for Requests (the default). A
// benchmark that sends hundreds of thousands of messages turns it off and
// watches requests with Tap instead; accepted messages are always kept.
func (s *Script[R, F]) KeepRequests(keep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget = !keep
}

// Tap calls fn with every request as it arrives (nil: stop). fn runs on the
// request's goroutine, outside the server's locks, and must be safe for
// concurrent use.
func (s *Script[R, F]) Tap(fn func(R)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tap = fn
}

// ResetScript forgets the requests and the pending failures and delays.
func (s *Script[R, F]) ResetScript() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.failures, s.delays, s.delayAll = nil, nil, nil, 0
}

// Received logs a request and takes the script's next step for it: the
// failure to answer (nil: answer normally) and how long to delay the answer.
func (s *Script[R, F]) Received(rec R) (fail *F, delay time.Duration) {
	s.mu.Lock()
	if !s.forget {
		s.requests = append(s.requests, rec)
	}
	tap := s.tap
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		fail = &f
	}
	delay = s.delayAll
	if len(s.delays) > 0 {
		delay = s.delays[0]
		s.delays = s.delays[1:]
	}
	s.mu.Unlock()
	if tap != nil {
		tap(rec)
	}
	return fail, delay
}

// Answer writes an answer after the delay; it writes nothing when the client
// goes away first.
func Answer(w http.ResponseWriter, r *http.Request, delay time.Duration, status int, header http.Header, body []byte) {
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
