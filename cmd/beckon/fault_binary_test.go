//go:build unix

package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// e2eParallel is how many tests run at once when -parallel is not given.
// The end-to-end tests spend their time waiting on sockets and timers (an
// idle timeout, a pacing slot, a provider's answer), not on the CPU, so more
// of them than the GOMAXPROCS default overlap well on two cores.
const e2eParallel = 8

// TestMain runs up to e2eParallel tests at once unless -parallel says
// otherwise, and removes the beckon binary the fault suite built, if it
// built one.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set && runtime.GOMAXPROCS(0) < e2eParallel {
		_ = flag.Set("test.parallel", strconv.Itoa(e2eParallel))
	}
	code := m.Run()
	if faultBin.dir != "" {
		_ = os.RemoveAll(faultBin.dir)
	}
	os.Exit(code)
}

// faultBin is the beckon binary the fault-injection suite runs as separate
// processes, built once per test binary.
var faultBin struct {
	once   sync.Once
	dir    string
	path   string
	err    error
	noTool bool // no go command on PATH: the suite is skipped
}

// beckonBinary builds ./cmd/beckon (with -race when this test binary has it,
// so the build reuses its compiled packages) and returns the binary's path.
func beckonBinary(t *testing.T) string {
	t.Helper()
	faultBin.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			faultBin.noTool = true
			return
		}
		dir, err := os.MkdirTemp("", "beckon-fault-")
		if err != nil {
			faultBin.err = err
			return
		}
		faultBin.dir = dir
		path := filepath.Join(dir, "beckon")
		args := []string{"build", "-o", path}
		if raceBuild {
			args = append(args, "-race")
		}
		out, err := exec.Command(goTool, append(args, ".")...).CombinedOutput()
		if err != nil {
			faultBin.err = &buildError{err: err, out: string(out)}
			return
		}
		faultBin.path = path
	})
	if faultBin.noTool {
		t.Skip("no go command on PATH to build beckon")
	}
	if faultBin.err != nil {
		t.Fatalf("build beckon: %v", faultBin.err)
	}
	return faultBin.path
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
