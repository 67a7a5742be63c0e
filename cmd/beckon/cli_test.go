package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"regexp"
	"strings"
	"testing"

	beckonapp "github.com/beckonhealth/beckon/app"
	"github.com/beckonhealth/beckon/sealed"
)

// cli runs ParseFlags (and Run, for version) on args with an empty
// environment and returns what was printed.
func cli(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	m := NewMain()
	m.Stdout, m.Stderr, m.Getenv = &out, &errb, func(string) string { return "" }
	err = m.ParseFlags(context.Background(), args)
	if err == nil && (m.role == roleVersion || m.role == roleKeygen) {
		err = m.Run(context.Background())
	}
	return out.String(), errb.String(), err
}

// TestHelpListsEveryFlag: `beckon -h` succeeds (exit 0) and lists every
// setting's flag with its environment variable.
func TestHelpListsEveryFlag(t *testing.T) {
	out, _, err := cli(t, "-h")
	if !errors.Is(err, errHelp) {
		t.Fatalf("beckon -h: %v, want help (exit 0)", err)
	}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	var c beckonapp.Config
	c.BindFlags(fs, beckonapp.RoleServe)
	fs.VisitAll(func(f *flag.Flag) {
		if !listsFlag(out, f.Name) {
			t.Errorf("beckon -h does not list -%s", f.Name)
		}
		for _, env := range beckonapp.FlagEnv(f.Name) {
			if !strings.Contains(out, env) {
				t.Errorf("beckon -h does not name %s (for -%s)", env, f.Name)
			}
		}
	})
	for _, cmd := range []string{"serve", "api", "worker", "scheduler", "migrate", "clinic create", "key create", "ehr replay", "secrets keygen", "secrets rotate", "version"} {
		if !strings.Contains(out, "beckon "+cmd) {
			t.Errorf("beckon -h does not list the command %q", cmd)
		}
	}
}

// TestSubcommandHelp: a command's help lists its own flags and no others,
// on stdout, and exits 0.
func TestSubcommandHelp(t *testing.T) {
	for _, c := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"key", "create", "-h"}, []string{"clinic", "role", "database-url"}, []string{"concurrency", "time-zone", "http-addr"}},
		{[]string{"clinic", "create", "--help"}, []string{"name", "time-zone", "database-url"}, []string{"clinic", "redis-url"}},
		{[]string{"ehr", "replay", "-h"}, []string{"dry-run", "since"}, []string{"name", "horizon"}},
		{[]string{"worker", "-h"}, []string{"concurrency", "redis-url"}, []string{"clinic", "dry-run"}},
		{[]string{"secrets", "rotate", "-h"}, []string{"batch", "database-url", "secret-key-file"}, []string{"concurrency", "redis-url", "name"}},
	} {
		out, _, err := cli(t, c.args...)
		if !errors.Is(err, errHelp) {
			t.Errorf("beckon %s: %v, want help (exit 0)", strings.Join(c.args, " "), err)
			continue
		}
		for _, w := range c.want {
			if !listsFlag(out, w) {
				t.Errorf("beckon %s: no -%s in\n%s", strings.Join(c.args, " "), w, out)
			}
		}
		for _, n := range c.not {
			if listsFlag(out, n) {
				t.Errorf("beckon %s: lists %q, a flag of another command", strings.Join(c.args, " "), n)
			}
		}
	}
}

// listsFlag reports whether help text lists the flag (as the flag package
// prints it: "  -name" at the start of a line).
func listsFlag(help, name string) bool {
	return regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(name) + `( |$)`).MatchString(help)
}

// TestVersion: `beckon version` prints the module version, the revision
// line and the toolchain, without reading configuration or opening a store.
func TestVersion(t *testing.T) {
	out, _, err := cli(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	b := beckonapp.ReadBuildInfo()
	for _, w := range []string{"beckon " + b.Version + "\n", "revision ", "built with " + b.Go} {
		if !strings.Contains(out, w) {
			t.Errorf("beckon version: no %q in %q", w, out)
		}
	}
}

// TestUsageMistake: no command, or an unknown one, is a usage error (exit 2).
func TestUsageMistake(t *testing.T) {
	for _, args := range [][]string{nil, {"frobnicate"}, {"worker", "-no-such-flag"}, {"secrets"}, {"secrets", "forget"}} {
		if _, _, err := cli(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("beckon %v: %v, want a usage error", args, err)
		}
	}
}

// TestSecretsKeygen: `beckon secrets keygen` prints a new key in the form
// BECKON_SECRET_KEY takes, different each time, without configuration.
func TestSecretsKeygen(t *testing.T) {
	a, _, err := cli(t, "secrets", "keygen")
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := cli(t, "secrets", "keygen")
	if _, err := sealed.ParseKey(a); err != nil || a == b {
		t.Fatalf("keygen printed %q then %q: %v", a, b, err)
	}
}
