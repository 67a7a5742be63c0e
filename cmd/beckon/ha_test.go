//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The high-availability suite runs the real program, as in the fault suite,
// against Redis deployments of the test's own on loopback ports, started
// from the machine's redis-server: a master with a replica watched by a
// Sentinel, and a three-master cluster. It is gated by its own variable
// (CI runs it as a step of its own) and skips when redis-server or
// redis-cli is missing.

// haSuiteVar is the environment variable that runs the suite.
const haSuiteVar = "BECKON_HA_SUITE"

// haSuite skips unless BECKON_HA_SUITE=1 and both Redis binaries are on
// PATH, and returns the one backend to run: the servers (PostgreSQL, api +
// two workers + scheduler) when CI names them, the embedded store (one
// serve on SQLite) otherwise. Sentinel and Cluster are for deployments on
// servers; running each case once keeps the suite to a few minutes.
func haSuite(t *testing.T) []string {
	t.Helper()
	gatedSuite(t, haSuiteVar, "high-availability suite: starts Redis Sentinel and Cluster and the real program")
	for _, bin := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(bin + " is not installed")
		}
	}
	b := backends()
	return b[len(b)-1:]
}

// sentinelSet is a master, its replica and one Sentinel (quorum 1) that
// declares the master down after a second.
type sentinelSet struct {
	master, replica, sentinel *stoppableRedis
}

const haMaster = "beckonha"

func startSentinelSet(t *testing.T) *sentinelSet {
	t.Helper()
	s := &sentinelSet{master: startRedisServer(t, "")}
	host, port, _ := strings.Cut(s.master.addr, ":")
	s.replica = startRedisServer(t, "", "--replicaof", host, port)
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	rules := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 1\nsentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 10000\n", haMaster, host, port)
	if err := os.WriteFile(conf, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	s.sentinel = startRedisServer(t, conf, "--sentinel")
	replica := redis.NewClient(&redis.Options{Addr: s.replica.addr})
	defer replica.Close()
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: s.sentinel.addr})
	defer sentinel.Close()
	waitFor(t, 30*time.Second, "the replica in sync and known to the Sentinel", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		info, err := replica.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "master_link_status:up") {
			return false
		}
		replicas, err := sentinel.Replicas(ctx, haMaster).Result()
		return err == nil && len(replicas) == 1
	})
	return s
}

// URL is the deployment's REDIS_URL: the Sentinel and the master's name.
func (s *sentinelSet) URL() string { return "redis-sentinel://" + s.sentinel.addr + "/" + haMaster }

// masterAddr is where the Sentinel says the master is now.
func (s *sentinelSet) masterAddr() string {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.sentinel.addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	hp, err := c.GetMasterAddrByName(ctx, haMaster).Result()
	if err != nil || len(hp) != 2 {
		return ""
	}
	return hp[0] + ":" + hp[1]
}

// A burst of 300 SMS paced at 20/s (about 15 s of sending) through a
// deployment whose Redis is a master, a replica and a Sentinel. Once a
// fifth of the burst reached Twilio the master is killed (kill -9); the
// Sentinel promotes the replica and Beckon's clients (asynq's, the pump's,
// pacing) follow it. Deliveries go on after the failover, and every send
// reaches Twilio exactly once and is recorded sent.
func TestHASentinelFailoverDuringBurst(t *testing.T) {
	for _, backend := range haSuite(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			rs := startSentinelSet(t)
			d := startDeployment(t, backend, deployOpts{TwilioPerSecond: "20", RedisURL: rs.URL()})
			b := d.book(burstPlan{prefix: "ha-sentinel", channel: "sms", patients: 30, steps: 10, offset: 10 * time.Minute, dueIn: 5 * time.Second})
			waitFor(t, time.Minute, "a fifth of the burst at Twilio", func() bool { return len(d.tw.Messages()) >= 60 })
			killed := time.Now()
			rs.master.stop()
			atKill := len(d.tw.Messages())
			waitFor(t, 30*time.Second, "the Sentinel to promote the replica", func() bool { return rs.masterAddr() == rs.replica.addr })
			promoted := time.Now()
			ended := d.awaitEnded(b, killed.Add(recoveryDeadline))
			hits := smsHits(d)
			after := 0
			for _, hs := range hits {
				for _, h := range hs {
					if h.After(promoted) {
						after++
					}
				}
			}
			f := count("ha-sentinel-failover", backend, ended, hits, everySend)
			f.report(t, "at_twilio_at_kill="+strconv.Itoa(atKill), "failover="+promoted.Sub(killed).Round(10*time.Millisecond).String(),
				"sent_after_failover="+strconv.Itoa(after), "recovery="+f.since(killed))
			f.assertRecovered(t, killed)
			if after == 0 {
				t.Errorf("nothing reached Twilio after the failover (%d at the kill)", atKill)
			}
		})
	}
}

// startCluster runs three cluster-enabled redis-servers and joins them into
// a cluster of three masters (no replicas) with redis-cli; it returns the
// deployment's REDIS_URL.
func startCluster(t *testing.T) string {
	t.Helper()
	var addrs []string
	for range 3 {
		n := startRedisServer(t, "", "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
		addrs = append(addrs, n.addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	out, err := exec.Command("redis-cli", append(args, "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	waitFor(t, 30*time.Second, "the cluster to cover every slot", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var mu sync.Mutex
		ok := 0
		err := c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
			info, err := n.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				mu.Lock()
				ok++
				mu.Unlock()
			}
			return nil
		})
		return err == nil && ok == len(addrs)
	})
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// The end-to-end delivery on a three-master Redis Cluster: 20 patients × 3
// steps of SMS due in a few seconds, every one reaching Twilio exactly once
// and recorded sent. The senders' pacing buckets and the asynq queue hash
// to different nodes.
func TestHAClusterDelivery(t *testing.T) {
	t.Parallel() // beside the backup check, after the failover case
	for _, backend := range haSuite(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			url := startCluster(t)
			d := startDeployment(t, backend, deployOpts{RedisURL: url})
			b := d.book(burstPlan{prefix: "ha-cluster", channel: "sms", patients: 20, steps: 3, offset: 10 * time.Minute, dueIn: 3 * time.Second})
			ended := d.awaitEnded(b, time.Now().Add(recoveryDeadline))
			f := count("ha-cluster-delivery", backend, ended, smsHits(d), everySend)
			f.report(t)
			f.assertRecovered(t, b.start)
			if f.Sent != len(b.sends) {
				t.Errorf("%d of %d sends sent", f.Sent, len(b.sends))
			}
		})
	}
}
