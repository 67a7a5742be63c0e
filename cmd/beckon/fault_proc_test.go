//go:build unix

package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// proc is one beckon process of the fault suite: its own OS process, its
// output (stdout and stderr, logs included: ids only) kept for the test.
type proc struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed once the process has exited
	err  error         // its exit, after done
	// stopped: the test ended it (killed or stopped); an exit before is a crash.
	stopped bool
}

// startProc runs `beckon args…` with env (the whole environment of the
// process) and stops it when the test ends.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(beckonBinary(t), args...)
	p.cmd.Env = env
	p.cmd.Stdout = p.out
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.cleanup)
	return p
}

// runProc runs a one-shot command (migrate, …) to its end.
func runProc(t *testing.T, name string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(beckonBinary(t), args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
}

// kill is kill -9: the process gets no chance to finish anything. It
// returns the moment of the kill.
func (p *proc) kill() time.Time {
	p.t.Helper()
	p.stopped = true
	at := time.Now()
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		p.t.Fatalf("kill -9 %s: %v", p.name, err)
	}
	<-p.done
	return at
}

// waitOutput waits until the process has written want, and returns its output.
func (p *proc) waitOutput(within time.Duration, want string) string {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		out := p.out.String()
		if strings.Contains(out, want) {
			return out
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (%v) before writing %q:\n%s", p.name, p.err, want, tail(out, 4000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not write %q within %s:\n%s", p.name, want, within, tail(out, 4000))
		}
	}
}

// cleanup reports a crash the test did not cause and a data race the race
// detector found, then stops the process (SIGTERM, SIGKILL after 10 s).
func (p *proc) cleanup() {
	out := p.out.String()
	select {
	case <-p.done:
		if !p.stopped {
			p.t.Errorf("%s exited by itself (%v):\n%s", p.name, p.err, tail(out, 4000))
		}
	default:
	}
	if strings.Contains(out, "WARNING: DATA RACE") {
		p.t.Errorf("%s: the race detector reported a data race:\n%s", p.name, tail(out, 8000))
	}
	if p.t.Failed() {
		p.t.Logf("%s output (ids only):\n%s", p.name, tail(out, 6000))
	}
	if dir := os.Getenv("BECKON_FAULT_LOGS"); dir != "" {
		// Whole logs, for a look at a failure: BECKON_FAULT_LOGS=/some/dir.
		name := strings.NewReplacer("/", "_").Replace(p.t.Name()) + "." + p.name + ".log"
		_ = os.WriteFile(filepath.Join(dir, name), []byte(out), 0o644)
	}
	p.stopped = true
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
