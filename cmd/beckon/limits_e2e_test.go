package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// readUntilClosed reads c until the server closes it, and fails the test if
// that takes past within (the server held the connection).
func readUntilClosed(t *testing.T, c net.Conn, within time.Duration, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server still held the connection after %s", what, within)
	}
}

// TestHTTPConnectionsBounded: slow clients up to the cap do not make a real
// request hang (it is refused at once with 503 and Retry-After), a body sent
// slowly is cut at the read timeout, and the freed slots serve requests again.
func TestHTTPConnectionsBounded(t *testing.T) {
	t.Parallel()
	const max = 4
	a := startAppEnv(t, "embedded", map[string]string{
		"BECKON_HTTP_MAX_CONNS":    fmt.Sprint(max),
		"BECKON_HTTP_READ_TIMEOUT": "5s",
	})
	slow := make([]net.Conn, max)
	for i := range slow {
		c, err := net.Dial("tcp", a.m.App.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		// The headers of a write and the start of its body; the rest never comes.
		fmt.Fprintf(c, "PUT /v1/patients/slow-%d HTTP/1.1\r\nHost: beckon\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"first_name\":", i, a.key)
		slow[i] = c
	}
	client := &http.Client{Timeout: 4 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get(a.base + "/healthz")
	if err != nil {
		t.Fatalf("a request beyond the connection limit: %v (want 503 at once)", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a request beyond the connection limit: %d %s (Retry-After %q), want 503 with Retry-After",
			resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	for i, c := range slow {
		readUntilClosed(t, c, 30*time.Second, fmt.Sprintf("slow body %d", i))
	}
	waitFor(t, 10*time.Second, "the API to serve again", func() bool {
		resp, err := client.Get(a.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// TestMLLPConnectionsBounded: a connection beyond the MLLP cap is closed at
// once rather than left waiting, a frame that never ends is cut at the idle
// timeout, and then new connections are accepted again.
func TestMLLPConnectionsBounded(t *testing.T) {
	t.Parallel()
	a := startAppEnv(t, "embedded", map[string]string{
		"BECKON_MLLP_ADDR":         "127.0.0.1:0",
		"BECKON_MLLP_MAX_CONNS":    "2",
		"BECKON_MLLP_IDLE_TIMEOUT": "8s",
	})
	addr := a.m.App.MLLPAddr()
	held := make([]net.Conn, 2)
	for i := range held {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, _ = c.Write([]byte("\x0bMSH|^~\\&|")) // a frame begun, never finished
		held[i] = c
	}
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = extra.Close() })
	readUntilClosed(t, extra, 6*time.Second, "a connection beyond the MLLP limit")
	for i, c := range held {
		readUntilClosed(t, c, 30*time.Second, fmt.Sprintf("unfinished frame %d", i))
	}
	waitFor(t, 10*time.Second, "a new MLLP connection to be kept", func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout() // still open: it was accepted
	})
}
