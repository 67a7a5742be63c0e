package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// A beckon process of the procs phase: the real binary running one role
// (`beckon worker`, `beckon scheduler`), its JSON log read for readiness and
// for warnings.

// beckonProc is one running beckon process.
type beckonProc struct {
	role  string
	cmd   *exec.Cmd
	ready chan struct{} // closed when it logged "beckon started"
	done  chan error    // its exit, once
	// warnings counts the warnings and errors it logged; the first few are
	// copied to the bench's stderr (they carry ids, never PHI).
	warnings atomic.Int64
}

// warningsShown is how many warning lines of each process reach stderr.
const warningsShown = 10

// buildBeckon builds the beckon binary of this module into dir.
func buildBeckon(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "beckon")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/beckonhealth/beckon/cmd/beckon")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build the beckon binary (run the bench inside the module, or pass -beckon): %w", err)
	}
	return bin, nil
}

// startBeckon starts `bin role` with env added to this process's environment
// and waits until it has started.
func startBeckon(ctx context.Context, bin, role string, env []string) (*beckonProc, error) {
	p := &beckonProc{role: role, ready: make(chan struct{}), done: make(chan error, 1)}
	p.cmd = exec.Command(bin, role)
	p.cmd.Env = append(os.Environ(), env...)
	// A bench that dies takes its processes with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logs, err := p.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start beckon %s: %w", role, err)
	}
	go func() {
		p.readLog(logs)
		p.done <- p.cmd.Wait()
	}()
	select {
	case <-p.ready:
		return p, nil
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("beckon %s exited before it started: %v", role, err)
	case <-time.After(time.Minute):
		p.stop()
		return nil, fmt.Errorf("beckon %s did not start within a minute", role)
	case <-ctx.Done():
		p.stop()
		return nil, ctx.Err()
	}
}

// readLog follows the process's JSON log until it closes.
func (p *beckonProc) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	started := false
	for sc.Scan() {
		line := sc.Text()
		if !started && strings.Contains(line, `"msg":"beckon started"`) {
			started = true
			close(p.ready)
		}
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) || !strings.HasPrefix(line, "{") {
			if p.warnings.Add(1) <= warningsShown {
				fmt.Fprintf(os.Stderr, "beckon %s: %s\n", p.role, line)
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// stop asks the process to stop (SIGTERM), and kills it if it has not
// within 40 s (a worker waits up to 30 s for its tasks).
func (p *beckonProc) stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("beckon %s: %w", p.role, err)
		}
		return err
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("beckon %s did not stop within 40 s and was killed", p.role)
	}
}

// cpuTime is the CPU time (user and system) the process has used so far, or
// -1 when it cannot be read.
func (p *beckonProc) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	// The command name (field 2) may hold spaces: count from after it.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return -1
	}
	const userHZ = 100 // the unit of /proc's times on Linux
	return time.Duration(utime+stime) * time.Second / userHZ
}

// peakRSS is the process's peak resident set size in bytes, or -1.
func (p *beckonProc) peakRSS() int64 {
	return statusPeakRSS(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
}
