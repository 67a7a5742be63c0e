package api

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/ehr"
	"github.com/beckonhealth/beckon/store"
)

// MLLP framing bytes.
const (
	mllpStart = 0x0B
	mllpEnd   = 0x1C
	mllpCR    = 0x0D
)

// MLLPConfig configures the MLLP listener.
type MLLPConfig struct {
	// ClinicID, when set, makes every message this clinic's (a listener per
	// clinic); else the clinic is found by the sending facility (MSH-4).
	ClinicID string
	// IdleTimeout closes a connection that starts no frame for this long, and
	// bounds how long one frame may take. Default 2m.
	IdleTimeout time.Duration
	// MaxMessageSize bounds one frame. Default ehr.MaxMessageSize (1 MiB).
	MaxMessageSize int
}

// MLLPServer accepts HL7 v2 messages over MLLP (0x0B message 0x1C 0x0D),
// many per connection, each answered by its ACK on the same connection.
type MLLPServer struct {
	proc   *HL7Processor
	cfg    MLLPConfig
	logger *slog.Logger
	group  *groupCommit

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// NewMLLPServer returns a server that hands messages to proc.
func NewMLLPServer(proc *HL7Processor, cfg MLLPConfig) *MLLPServer {
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 2 * time.Minute
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = ehr.MaxMessageSize
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &MLLPServer{proc: proc, cfg: cfg, logger: proc.Logger.With(slog.String("component", "mllp")),
		conns: map[net.Conn]struct{}{}, ctx: ctx, cancel: cancel, group: newGroupCommit(proc)}
}

// Serve accepts connections on ln until Close.
func (s *MLLPServer) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.ln = ln
	s.group.start(s.ctx)
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Close stops accepting, closes every connection (a message being applied
// finishes first) and waits for them.
func (s *MLLPServer) Close() error {
	s.mu.Lock()
	s.closed = true
	var err error
	if s.ln != nil {
		err = s.ln.Close()
	}
	for c := range s.conns {
		// Wake readers; a handler in the middle of a message finishes it.
		_ = c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.group.close()
	s.cancel()
	return err
}

func (s *MLLPServer) serveConn(c net.Conn) {
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		if s.isClosed() {
			return
		}
		raw, err := s.readFrame(c, r)
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				ack := ehr.Ack(nil, ehr.AR, &ehr.Error{Code: ehr.CodeInternalError, Reason: "message exceeds the size limit"}, s.proc.Clock.Now(), store.NewID("ACK"))
				_ = s.writeFrame(c, ack)
				s.logger.Warn("mllp frame too large; connection closed", slog.String("remote", c.RemoteAddr().String()))
			} else if !errors.Is(err, io.EOF) && !s.isClosed() {
				s.logger.Debug("mllp connection ended", slog.String("reason", err.Error()))
			}
			return
		}
		it := s.proc.prepare(s.ctx, HL7Input{
			ClinicID:  s.cfg.ClinicID,
			Transport: store.TransportMLLP,
			Raw:       raw,
			Actor:     "ehr:mllp",
			Archive:   true,
		})
		// Applied with what arrives meanwhile on other connections, in
		// one transaction; acknowledged only once that has committed.
		s.group.apply(c, it)
		res := s.proc.answer(it)
		if err := s.writeFrame(c, res.Ack); err != nil {
			return
		}
	}
}

func (s *MLLPServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

var errFrameTooLarge = errors.New("mllp: frame too large")

// readFrame reads one framed message: bytes before the start block are
// skipped; the whole frame must arrive within the idle timeout.
func (s *MLLPServer) readFrame(c net.Conn, r *bufio.Reader) ([]byte, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, io.EOF
	}
	err := c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b == mllpStart {
			break
		}
	}
	var buf []byte
	for {
		chunk, err := r.ReadSlice(mllpEnd)
		if len(buf)+len(chunk) > s.cfg.MaxMessageSize+1 {
			return nil, errFrameTooLarge
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			return nil, err
		}
		next, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if next == mllpCR {
			return buf[:len(buf)-1], nil
		}
		// A 0x1C inside the message (not a frame end): keep it.
		if err := r.UnreadByte(); err != nil {
			return nil, err
		}
	}
}

func (s *MLLPServer) writeFrame(c net.Conn, msg []byte) error {
	if err := c.SetWriteDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return err
	}
	frame := make([]byte, 0, len(msg)+3)
	frame = append(frame, mllpStart)
	frame = append(frame, msg...)
	frame = append(frame, mllpEnd, mllpCR)
	_, err := c.Write(frame)
	return err
}
