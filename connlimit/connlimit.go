// Package connlimit bounds the connections a listener hands out at once, so
// that a burst of clients is turned away at once (with an answer the
// protocol's owner writes: HTTP's 503 in api, none on MLLP in feeds) rather
// than left waiting in the kernel's queue behind slow ones.
package connlimit

import (
	"net"
	"sync"
)

// limitListener hands out at most cap(slots) connections at once.
type limitListener struct {
	net.Listener
	slots chan struct{}
	// refusing bounds the connections being refused at once; beyond it a
	// connection is closed without an answer.
	refusing chan struct{}
	refuse   func(net.Conn)
}

// New returns a listener that hands out at most max connections of ln at
// once; a connection's slot is freed when it is closed. A connection beyond
// max is given to refuse (at most max/4+1 at once, each on its own
// goroutine; refuse must close it), or closed at once when refuse is nil or
// that many are being refused already.
func New(ln net.Listener, max int, refuse func(net.Conn)) net.Listener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, max),
		refusing: make(chan struct{}, max/4+1), refuse: refuse}
}

// Accept returns the next connection for which there is a slot.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
		default:
		}
		if l.refuse == nil {
			_ = c.Close()
			continue
		}
		select {
		case l.refusing <- struct{}{}:
			go func() {
				defer func() { <-l.refusing }()
				l.refuse(c)
			}()
		default:
			_ = c.Close()
		}
	}
}

// limitConn frees its slot when closed.
type limitConn struct {
	net.Conn
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// CloseWrite half-closes a TCP connection (net/http uses it to make sure the
// client has the answer before the connection closes).
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
