package app

import (
	"flag"
	"testing"
)

// TestFlagEnvIsRead: the environment variable each flag's help names is the
// one ConfigFromEnv reads for that setting (setting it changes the flag's
// default), so the help cannot drift from the configuration.
func TestFlagEnvIsRead(t *testing.T) {
	base := flag.NewFlagSet("", flag.ContinueOnError)
	c0, err := ConfigFromEnv(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	c0.BindFlags(base, RoleServe)
	var n int
	base.VisitAll(func(f *flag.Flag) {
		n++
		value := "x7"
		switch f.Value.(type) {
		case interface{ IsBoolFlag() bool }:
			value = "false"
		}
		switch f.DefValue {
		case "0":
			value = "7"
		case "0s":
			value = "7s"
		}
		for _, env := range FlagEnv(f.Name) {
			c, err := ConfigFromEnv(func(k string) string {
				if k == env {
					return value
				}
				return ""
			})
			if err != nil {
				t.Errorf("%s=%s: %v", env, value, err)
				continue
			}
			fs := flag.NewFlagSet("", flag.ContinueOnError)
			c.BindFlags(fs, RoleServe)
			if got := fs.Lookup(f.Name).DefValue; got == f.DefValue {
				t.Errorf("flag -%s: setting %s=%s left its default at %q: the help names the wrong variable", f.Name, env, value, got)
			}
		}
	})
	if n < 20 {
		t.Fatalf("%d flags for serve, want every setting", n)
	}
}

// TestOneShotFlags: the one-shot commands take only the settings they use.
func TestOneShotFlags(t *testing.T) {
	for _, role := range []string{RoleMigrate, RoleClinicCreate, RoleKeyCreate, RoleReplay} {
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		var c Config
		c.BindFlags(fs, role)
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		if len(names) != len(oneShotFlags) || fs.Lookup("database-url") == nil {
			t.Errorf("%s flags %v, want the database and logging only", role, names)
		}
	}
}
