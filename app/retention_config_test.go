package app

import (
	"flag"
	"strings"
	"testing"
	"time"
)

// TestRetentionConfig: the retention periods take days or Go durations from
// the environment and the flags, default to 90 and 30 days, and a bad value
// or schedule is refused naming the variable.
func TestRetentionConfig(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	parse := func(env map[string]string, args ...string) (Config, error) {
		c, err := ConfigFromEnv(func(k string) string { return env[k] })
		if err != nil {
			return c, err
		}
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		c.BindFlags(fs, RoleScheduler)
		if err := fs.Parse(args); err != nil {
			return c, err
		}
		c = c.WithDefaults()
		return c, c.Validate(RoleServe)
	}
	c, err := parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionBodies != 90*day || c.RetentionArchives != 30*day || c.RetentionEvery != "@every 10m" {
		t.Fatalf("defaults: %v %v %q", c.RetentionBodies, c.RetentionArchives, c.RetentionEvery)
	}
	c, err = parse(map[string]string{"BECKON_RETENTION_BODIES": "180d", "BECKON_RETENTION_ARCHIVES": "36h", "BECKON_RETENTION_EVERY": "@hourly"})
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionBodies != 180*day || c.RetentionArchives != 36*time.Hour || c.RetentionEvery != "@hourly" {
		t.Fatalf("from the environment: %v %v %q", c.RetentionBodies, c.RetentionArchives, c.RetentionEvery)
	}
	c, err = parse(map[string]string{"BECKON_RETENTION_BODIES": "180d"}, "-retention-bodies", "7d")
	if err != nil {
		t.Fatal(err)
	}
	if c.RetentionBodies != 7*day {
		t.Fatalf("the flag over the environment: %v", c.RetentionBodies)
	}
	for name, v := range map[string]string{"BECKON_RETENTION_BODIES": "0d", "BECKON_RETENTION_ARCHIVES": "soon"} {
		_, err := parse(map[string]string{name: v})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: err %v, want one naming the variable", name, v, err)
		}
	}
	if _, err := parse(nil, "-retention-bodies", "-3d"); err == nil {
		t.Error("a negative period was accepted")
	}
	if _, err := parse(map[string]string{"BECKON_RETENTION_EVERY": "whenever"}); err == nil || !strings.Contains(err.Error(), "retention schedule") {
		t.Errorf("a bad schedule: err %v", err)
	}
}
