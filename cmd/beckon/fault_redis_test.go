//go:build unix

package main

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// stoppableRedis is a Redis of the test's own that it takes down and brings
// back on the same address: a redis-server child process (no persistence: it
// comes back empty, as after a crash) when one is on PATH, else a miniredis
// in the test process (it comes back with its data).
type stoppableRedis struct {
	t    *testing.T
	addr string
	bin  string // redis-server, or "" for miniredis
	cmd  *exec.Cmd
	done chan struct{}
	mini *miniredis.Miniredis
	// conf and args (a config file first, then flags after the defaults):
	// what makes it a replica, a Sentinel or a cluster node.
	conf string
	args []string
}

func startStoppableRedis(t *testing.T) *stoppableRedis {
	t.Helper()
	r := &stoppableRedis{t: t, addr: freeAddr(t)}
	if bin, err := exec.LookPath("redis-server"); err == nil {
		r.bin = bin
	} else {
		r.mini = miniredis.NewMiniRedis()
		if err := r.mini.StartAddr(r.addr); err != nil {
			t.Fatalf("start miniredis: %v", err)
		}
		t.Cleanup(r.mini.Close)
		return r
	}
	r.start()
	t.Cleanup(func() {
		if r.cmd != nil {
			r.stop()
		}
	})
	return r
}

// startRedisServer runs a redis-server of the test's own (conf: a config
// file, or empty; args: flags such as --replicaof or --sentinel); it skips
// the test when redis-server is not on PATH.
func startRedisServer(t *testing.T, conf string, args ...string) *stoppableRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	r := &stoppableRedis{t: t, addr: freeAddr(t), bin: bin, conf: conf, args: args}
	r.start()
	t.Cleanup(func() {
		if r.cmd != nil {
			r.stop()
		}
	})
	return r
}

// URL is what Beckon's processes are given as REDIS_URL.
func (r *stoppableRedis) URL() string { return "redis://" + r.addr + "/0" }

// stop takes Redis down: kill -9 of redis-server, or miniredis closed.
func (r *stoppableRedis) stop() {
	r.t.Helper()
	if r.mini != nil {
		r.mini.Close()
		return
	}
	_ = syscall.Kill(r.cmd.Process.Pid, syscall.SIGKILL)
	<-r.done
	r.cmd = nil
}

// start brings Redis (back) up on its address and waits until it answers.
func (r *stoppableRedis) start() {
	r.t.Helper()
	if r.mini != nil {
		if err := r.mini.Restart(); err != nil {
			r.t.Fatalf("restart miniredis: %v", err)
		}
		return
	}
	host, port, _ := strings.Cut(r.addr, ":")
	var args []string
	if r.conf != "" {
		args = append(args, r.conf)
	}
	args = append(args, "--bind", host, "--port", port, "--save", "", "--appendonly", "no", "--dir", r.t.TempDir())
	r.cmd = exec.Command(r.bin, append(args, r.args...)...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	r.done = done
	cmd := r.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	waitFor(r.t, 30*time.Second, "redis-server on "+r.addr, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	})
}
