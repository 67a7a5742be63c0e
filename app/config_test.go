package app

import (
	"testing"
	"time"
)

func TestConfigLimitsAndEgress(t *testing.T) {
	t.Parallel()
	parse := func(env map[string]string, role string) (Config, error) {
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			return c, err
		}
		c = c.WithDefaults()
		return c, c.Validate(role)
	}
	c, err := parse(nil, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPMaxConns != 512 || c.HTTPReadTimeout != 30*time.Second || c.HTTPIdleTimeout != time.Minute || c.MLLPMaxConns != 64 || c.AllowPrivateHosts != "" {
		t.Fatalf("defaults: %+v", c)
	}
	for role, want := range map[string]int{"serve": 30, "worker": 30, "api": 20, "scheduler": 5, "migrate": 4} {
		if got := c.PoolSize(role); got != want {
			t.Errorf("db pool of %s: %d, want %d", role, got, want)
		}
	}
	c, err = parse(map[string]string{
		"BECKON_HTTP_MAX_CONNS": "40", "BECKON_HTTP_READ_TIMEOUT": "5s", "BECKON_HTTP_IDLE_TIMEOUT": "10s",
		"BECKON_MLLP_MAX_CONNS": "3", "BECKON_DB_MAX_CONNS": "7", "BECKON_ALLOW_PRIVATE_HOSTS": "10.0.0.0/8, ehr.clinic.lan",
	}, "serve")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPMaxConns != 40 || c.HTTPReadTimeout != 5*time.Second || c.HTTPIdleTimeout != 10*time.Second || c.MLLPMaxConns != 3 || c.PoolSize("api") != 7 {
		t.Fatalf("from the environment: %+v", c)
	}
	if err := c.EgressPolicy().CheckURL("http://ehr.clinic.lan/fhir"); err != nil {
		t.Fatalf("an allow-listed on-premises EHR: %v", err)
	}
	if err := c.EgressPolicy().CheckURL("https://127.0.0.1/fhir"); err == nil {
		t.Fatal("loopback allowed by an allow-list that does not name it")
	}
	for _, bad := range []map[string]string{
		{"BECKON_ALLOW_PRIVATE_HOSTS": "10.0.0.0/40"},
		{"BECKON_ALLOW_PRIVATE_HOSTS": "not a host!"},
		{"BECKON_HTTP_MAX_CONNS": "-1"},
		{"BECKON_DB_MAX_CONNS": "lots"},
		{"BECKON_HTTP_READ_TIMEOUT": "soon"},
	} {
		if _, err := parse(bad, "serve"); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
