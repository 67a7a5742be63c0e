package feeds

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/connlimit"
	"github.com/beckonhealth/beckon/ehr"
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
	fr := &frameReader{r: bufio.NewReaderSize(c, 64<<10), max: s.cfg.MaxMessageSize}
	for {
		if s.isClosed() {
			return
		}
		raw, err := s.readFrame(c, fr)
		if errors.Is(err, errFrameBroken) {
			s.dropBroken(c, raw)
			continue
		}
		if err != nil {
			if errors.Is(err, errFrameTooLarge) {
				ack := ehr.Ack(nil, ehr.AR, &ehr.Error{Code: ehr.CodeInternalError, Reason: "message exceeds the size limit"}, s.proc.Clock.Now(), beckon.NewID("ACK"))
				_ = s.writeFrame(c, ack)
				s.logger.Warn("mllp frame too large; connection closed", slog.String("remote", c.RemoteAddr().String()))
				lingerClose(c, fr.r)
			} else if !errors.Is(err, io.EOF) && !s.isClosed() {
				s.logger.Debug("mllp connection ended", slog.String("reason", err.Error()))
			}
			return
		}
		it := s.proc.prepare(s.ctx, s.input(raw))
		// Applied with what arrives meanwhile on other connections, in
		// one transaction; acknowledged only once that has committed.
		s.group.apply(c, it)
		res := s.proc.answer(it)
		if err := s.writeFrame(c, res.Ack); err != nil {
			return
		}
	}
}

// Closing a connection while the sender is still writing makes the kernel
// answer with a reset, which can destroy the acknowledgement just written
// before the sender reads it. lingerClose half-closes instead and discards
// what still arrives, for at most lingerTime and lingerBytes, so the sender
// reads the AR and then the end of the stream.
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 64 << 20
)

func lingerClose(c net.Conn, r io.Reader) {
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	if c.SetReadDeadline(time.Now().Add(lingerTime)) != nil {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r, lingerBytes))
}

// input is a message read off a connection of this listener.
func (s *MLLPServer) input(raw []byte) HL7Input {
	return HL7Input{
		ClinicID:  s.cfg.ClinicID,
		Transport: beckon.TransportMLLP,
		Raw:       raw,
		Actor:     "ehr:mllp",
		Archive:   true,
	}
}

// dropBroken handles a frame that a start block cut short: the sender began
// a new frame before ending this one, as interface engines do when they
// give up on a message and send it (or the next one) again. Like them,
// Beckon drops the broken frame without an acknowledgement (the sender waits
// for one ACK, of the frame it completes) and keeps it in the archive,
// rejected and never applied, for inspection.
func (s *MLLPServer) dropBroken(c net.Conn, raw []byte) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return // two start blocks: nothing was cut short
	}
	it := s.proc.prepare(s.ctx, s.input(raw))
	it.reject(ehr.AR, errFrameDropped)
	it.res.Code = "" // no acknowledgement was sent
	it.apptID = ""
	s.proc.apply(s.ctx, []*hl7Item{it})
	s.logger.Warn("mllp frame cut short by a start block; dropped without acknowledgement",
		slog.String("clinic_id", it.res.ClinicID), slog.String("remote", c.RemoteAddr().String()), slog.Int("size", len(raw)))
}

// errFrameDropped is the archive's reason for a broken frame.
var errFrameDropped = &ehr.Error{Code: ehr.CodeSegmentSequence,
	Reason: "MLLP frame cut short: a start block began a new frame before this one ended; dropped without acknowledgement"}

func (s *MLLPServer) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

var (
	errFrameTooLarge = errors.New("mllp: frame too large")
	// errFrameBroken: a start block came before the frame's end; the bytes
	// read so far are returned with it, and the new frame is read next.
	errFrameBroken = errors.New("mllp: frame cut short by a start block")
)

// frameReader reads MLLP frames off one connection.
type frameReader struct {
	r   *bufio.Reader
	max int
	// started: the start block of the next frame has been read (it ended
	// the previous, broken, frame).
	started bool
}

// readFrame reads one framed message (0x0B message 0x1C 0x0D): bytes before
// the start block are skipped; the whole frame must arrive within the idle
// timeout. A start block inside a frame ends it: readFrame returns what it
// read with errFrameBroken, and the next call reads the frame that block
// began. A 0x1C not followed by 0x0D is part of the message.
func (s *MLLPServer) readFrame(c net.Conn, fr *frameReader) ([]byte, error) {
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
	r := fr.r
	for !fr.started {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		fr.started = b == mllpStart
	}
	var buf []byte
	for {
		if _, err := r.Peek(1); err != nil {
			return nil, err
		}
		data, _ := r.Peek(r.Buffered())
		i := bytes.IndexAny(data, "\x0b\x1c")
		n := len(data)
		if i >= 0 {
			n = i
		}
		if len(buf)+n > fr.max+1 {
			return nil, errFrameTooLarge
		}
		buf = append(buf, data[:n]...)
		if i < 0 {
			_, _ = r.Discard(n)
			continue
		}
		mark := data[i]
		_, _ = r.Discard(n + 1)
		if mark == mllpStart {
			// The next frame has begun; this one is broken.
			return buf, errFrameBroken
		}
		next, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if next == mllpCR || next == mllpStart {
			// 0x1C 0x0B: a sender that leaves out the CR; the block
			// after it begins the next frame.
			fr.started = next == mllpStart
			return buf, nil
		}
		// A 0x1C inside the message (not a frame end): keep it.
		buf = append(buf, mllpEnd)
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

// LimitMLLP bounds the connections open at once on an MLLP listener; a
// connection beyond max is closed at once (there is no message to
// acknowledge yet).
func LimitMLLP(ln net.Listener, max int) net.Listener {
	return connlimit.New(ln, max, nil)
}
