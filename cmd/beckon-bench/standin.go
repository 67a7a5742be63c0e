package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beckonhealth/beckon/channels/twilio"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
)

// The Twilio stand-in runs in a child process (this binary with -standin),
// so that the bench process's memory and CPU are Beckon's alone. The child
// prints its URL, then one line per message it accepts: arrival time (unix
// nanoseconds) and send id.

// standInFlag runs the binary as the stand-in.
const standInFlag = "-standin"

// serveStandIn runs the Twilio stand-in until stdin closes (the parent went
// away).
func serveStandIn() {
	fake := twiliotest.New()
	defer fake.Close()
	fake.KeepRequests(false)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	var mu sync.Mutex
	fake.Tap(func(r twiliotest.Request) {
		if r.Form == nil || r.Form.Get("Body") == "" {
			return
		}
		sendID := ""
		if cb, err := url.Parse(r.Form.Get("StatusCallback")); err == nil {
			sendID = cb.Query().Get(twilio.SendIDParam)
		}
		mu.Lock()
		fmt.Fprintf(out, "%d %s\n", r.Time.UnixNano(), sendID)
		mu.Unlock()
	})
	mu.Lock()
	fmt.Fprintf(out, "%s\n", fake.URL)
	_ = out.Flush()
	mu.Unlock()

	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			mu.Lock()
			err := out.Flush()
			mu.Unlock()
			if err != nil {
				return
			}
		case <-stop:
			return
		}
	}
}

// standIn is the running child.
type standIn struct {
	URL  string
	cmd  *exec.Cmd
	in   io.WriteCloser
	done chan error // the reader's end
}

// startStandIn starts the child and feeds its arrivals to a.
func startStandIn(ctx context.Context, a *arrivals) (*standIn, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, standInFlag)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the Twilio stand-in: %w", err)
	}
	r := bufio.NewReader(outPipe)
	first, err := r.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("the Twilio stand-in did not start: %w", err)
	}
	s := &standIn{URL: strings.TrimSpace(first), cmd: cmd, in: in, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ns, id, ok := strings.Cut(sc.Text(), " ")
			n, err := strconv.ParseInt(ns, 10, 64)
			if !ok || err != nil {
				continue
			}
			a.add(time.Unix(0, n), id)
		}
		s.done <- sc.Err()
	}()
	return s, nil
}

// close stops the child and waits for it.
func (s *standIn) close() error {
	_ = s.in.Close()
	err := s.cmd.Wait()
	<-s.done
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("the Twilio stand-in: %w", err)
	}
	return err
}
