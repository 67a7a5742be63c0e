package api

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/beckonhealth/beckon"
)

// RequestIDHeader carries the id of a request that failed inside Beckon; the
// same id is in the log line that says why.
const RequestIDHeader = "X-Request-Id"

// serveBuffered serves r from the mux into a buffer and sends the answer only
// once it is complete. A handler that panics (huma panics when a response
// cannot be encoded, e.g. a time outside the years 0 to 9999) has then sent
// nothing yet: the client gets a 500 in the API's shape (an OperationOutcome
// under /fhir) with a request id, and the log has that id, the route and the
// resource id, never a dropped connection.
func (s *Server) serveBuffered(w http.ResponseWriter, r *http.Request) {
	b := &bufferedAnswer{w: w, header: http.Header{}}
	defer func() {
		p := recover()
		if p == nil {
			b.send()
			return
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
		s.failInternal(w, r, panicError{p})
	}()
	s.mux.ServeHTTP(b, r)
}

// failInternal answers a request that failed inside Beckon: a 500 in the
// API's shape (an OperationOutcome under /fhir) that gives a request id, and
// a log line with that id, the route and the resource id (never a value).
func (s *Server) failInternal(w http.ResponseWriter, r *http.Request, err error) {
	id := beckon.NewID("req_")
	s.logger.Error("request failed while answering",
		slog.String("request_id", id),
		slog.String("method", r.Method),
		slog.String("route", r.Pattern),
		slog.String("id", r.PathValue("id")),
		slog.String("error", err.Error()))
	w.Header().Set(RequestIDHeader, id)
	e := newError(http.StatusInternalServerError, CodeInternal, "internal error; request id "+id)
	if strings.HasPrefix(r.URL.Path, "/fhir/") {
		fhirFail(w, e)
		return
	}
	writeError(w, e)
}

// panicError is a recovered panic as an error: one line, bounded (huma's
// encoding panics name the operation and the error, not the values).
type panicError struct{ p any }

func (e panicError) Error() string {
	msg := fmt.Sprint(e.p)
	if err, ok := e.p.(error); ok {
		msg = err.Error()
	}
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return "panic: " + msg
}

// bufferedAnswer is an http.ResponseWriter that keeps the answer until send.
type bufferedAnswer struct {
	w      http.ResponseWriter
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedAnswer) Header() http.Header { return b.header }

func (b *bufferedAnswer) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedAnswer) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Unwrap gives http.ResponseController the connection's writer (read
// deadlines).
func (b *bufferedAnswer) Unwrap() http.ResponseWriter { return b.w }

func (b *bufferedAnswer) send() {
	h := b.w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.w.WriteHeader(b.status)
	_, _ = b.w.Write(b.body.Bytes())
}
