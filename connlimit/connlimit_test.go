package connlimit_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/beckonhealth/beckon/connlimit"
)

// setup listens on a loopback port through connlimit.New and accepts in the
// background; accepted receives what Accept hands out.
func setup(t *testing.T, max int, refuse func(net.Conn)) (addr string, accepted chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.New(ln, max, refuse)
	accepted = make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() { _ = l.Close() })
	return ln.Addr().String(), accepted
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func receive(t *testing.T, ch chan net.Conn, what string) net.Conn {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatalf("no connection %s", what)
		return nil
	}
}

// TestLimit: a connection beyond the limit goes to refuse, never to Accept;
// closing a handed-out connection frees its slot, once however often it is
// closed.
func TestLimit(t *testing.T) {
	t.Parallel()
	refused := make(chan net.Conn, 8)
	addr, accepted := setup(t, 1, func(c net.Conn) {
		refused <- c
		_ = c.Close()
	})

	dial(t, addr)
	first := receive(t, accepted, "accepted first")
	dial(t, addr)
	receive(t, refused, "refused beyond the limit")
	if len(accepted) != 0 {
		t.Fatal("a connection beyond the limit was accepted")
	}

	_ = first.Close()
	_ = first.Close() // frees one slot, not two
	dial(t, addr)
	receive(t, accepted, "accepted once the slot was freed")
	closedByServer(t, dial(t, addr)) // refused, or closed if the first refusal is still winding up
	if len(accepted) != 0 {
		t.Fatal("closing a connection twice freed two slots")
	}
}

// closedByServer fails unless the server ends c without sending anything.
func closedByServer(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection beyond the limit was left open")
	}
	if err == nil {
		t.Fatal("the server wrote to a connection beyond the limit")
	}
}

// TestLimitWithoutRefuse: with no refuse function, a connection beyond the
// limit is closed at once: its client reads the end of the stream.
func TestLimitWithoutRefuse(t *testing.T) {
	t.Parallel()
	addr, accepted := setup(t, 1, nil)
	dial(t, addr)
	receive(t, accepted, "accepted first")
	closedByServer(t, dial(t, addr))
	if len(accepted) != 0 {
		t.Fatal("a connection beyond the limit was accepted")
	}
}
