package app

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRedisURLSentinel(t *testing.T) {
	t.Parallel()
	tg, err := parseRedisURL("redis-sentinel://:s3cret@10.0.0.1:26379,10.0.0.2,sent3:26380/mymaster?db=2&sentinel_password=sp&dial_timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	o := tg.failover
	if o == nil || tg.single != nil || tg.cluster != nil {
		t.Fatalf("not a failover target: %+v", tg)
	}
	if o.MasterName != "mymaster" || o.DB != 2 || o.Password != "s3cret" || o.SentinelPassword != "sp" || o.DialTimeout != 3*time.Second {
		t.Fatalf("options: master %q db %d password %q sentinel password %q dial %s", o.MasterName, o.DB, o.Password, o.SentinelPassword, o.DialTimeout)
	}
	if want := []string{"10.0.0.1:26379", "10.0.0.2:26379", "sent3:26380"}; !slices.Equal(o.SentinelAddrs, want) {
		t.Fatalf("sentinels %v, want %v", o.SentinelAddrs, want)
	}
	if o.TLSConfig != nil {
		t.Fatal("TLS on a redis-sentinel URL")
	}
	tg, err = parseRedisURL("rediss-sentinel://s1/m")
	if err != nil || tg.failover.TLSConfig == nil || tg.failover.MasterName != "m" {
		t.Fatalf("rediss-sentinel: %+v, %v", tg.failover, err)
	}
}

func TestParseRedisURLCluster(t *testing.T) {
	t.Parallel()
	tg, err := parseRedisURL("redis-cluster://user:pw@127.0.0.1:7000,127.0.0.1:7001,[::1]:7002,node4?pool_size=7")
	if err != nil {
		t.Fatal(err)
	}
	o := tg.cluster
	if o == nil || tg.single != nil || tg.failover != nil {
		t.Fatalf("not a cluster target: %+v", tg)
	}
	if want := []string{"127.0.0.1:7000", "127.0.0.1:7001", "[::1]:7002", "node4:6379"}; !slices.Equal(o.Addrs, want) {
		t.Fatalf("nodes %v, want %v", o.Addrs, want)
	}
	if o.Username != "user" || o.Password != "pw" || o.PoolSize != 7 {
		t.Fatalf("options: user %q password %q pool %d", o.Username, o.Password, o.PoolSize)
	}
}

func TestParseRedisURLSingle(t *testing.T) {
	t.Parallel()
	tg, err := parseRedisURL("redis://:pw@127.0.0.1:6380/3")
	if err != nil {
		t.Fatal(err)
	}
	if tg.single == nil || tg.single.Addr != "127.0.0.1:6380" || tg.single.DB != 3 || tg.single.Password != "pw" {
		t.Fatalf("single: %+v", tg.single)
	}
}

// A bad URL is refused with a reason, and the reason never repeats the
// password; Validate refuses it before any role starts.
func TestParseRedisURLRefused(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"memcached://:hunter2@host:1",
		"redis-sentinel://:hunter2@s1:26379,s2:26379",           // no master
		"redis-sentinel://:hunter2@s1:26379/a/b",                // two path segments
		"redis-sentinel://:hunter2@s1/m?master_name=other",      // master twice
		"redis-sentinel://:hunter2@s1/m?no_such_option=1",       // go-redis refuses it
		"redis-cluster://:hunter2@n1:7000/3",                    // a database on a cluster
		"redis-cluster://:hunter2@n1:7000?addr=n2:7001",         // hosts twice
		"redis-cluster://:hunter2@,",                            // no host
		"redis-cluster://:hunter2@n1:7000?dial_timeout=forever", // go-redis refuses it
		"redis://:hunter2@host:notaport/0",
	} {
		_, err := parseRedisURL(bad)
		if err == nil {
			t.Errorf("%s: accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error repeats the password: %v", bad, err)
		}
		c := Config{RedisURL: bad}.WithDefaults()
		if err := c.Validate(RoleWorker); err == nil {
			t.Errorf("%s: Validate accepted it", bad)
		}
	}
}
