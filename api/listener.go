package api

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/beckonhealth/beckon/connlimit"
)

// LimitHTTP bounds the connections open at once on an HTTP listener. A
// connection beyond max is answered at once with 503 and Retry-After and
// closed, rather than left waiting in the kernel's queue behind slow clients;
// slots are freed when connections close, and the server's read and idle
// timeouts bound how long any connection holds one.
func LimitHTTP(ln net.Listener, max int) net.Listener {
	return connlimit.New(ln, max, refuseHTTP)
}

// overloaded is the whole answer to a connection beyond the limit.
const overloaded = "HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: application/json\r\n" +
	"Retry-After: 1\r\n" +
	"Connection: close\r\n" +
	"Content-Length: 84\r\n\r\n" +
	`{"status":503,"code":"unavailable","message":"too many connections; retry shortly"}` + "\n"

// refuseHTTP answers c with the 503 and closes it, all within a second. It
// first reads the request's headers (a client does not expect an answer
// before its request), then after the answer reads what else comes for a
// moment: closing a socket with unread data resets it, and the client could
// lose the answer.
func refuseHTTP(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	var buf [8 << 10]byte
	seen := 0
	for seen < len(buf) && !bytes.Contains(buf[:seen], []byte("\r\n\r\n")) {
		n, err := c.Read(buf[seen:])
		seen += n
		if err != nil {
			return
		}
	}
	if _, err := c.Write([]byte(overloaded)); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
	for {
		if _, err := c.Read(buf[:]); err != nil {
			return
		}
	}
}

// CloseUnfinished makes the server close a connection after answering a
// request whose body was not read to its end: one cut off at the read
// timeout, or one a handler refused without reading. net/http would
// otherwise keep such a connection for the next request, so a client sending
// its body slowly would hold it for the idle timeout as well.
func CloseUnfinished(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		b := &trackedBody{ReadCloser: r.Body}
		r.Body = b
		h.ServeHTTP(&closeIfUnfinished{ResponseWriter: w, body: b}, r)
	})
}

// trackedBody records whether a body was read to its end.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

// closeIfUnfinished adds "Connection: close" to an answer given before the
// request's body was read to its end.
type closeIfUnfinished struct {
	http.ResponseWriter
	body    *trackedBody
	checked bool
}

func (w *closeIfUnfinished) check() {
	if !w.checked {
		w.checked = true
		if !w.body.eof {
			w.Header().Set("Connection", "close")
		}
	}
}

func (w *closeIfUnfinished) WriteHeader(code int) {
	w.check()
	w.ResponseWriter.WriteHeader(code)
}

func (w *closeIfUnfinished) Write(p []byte) (int, error) {
	w.check()
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *closeIfUnfinished) Unwrap() http.ResponseWriter { return w.ResponseWriter }
