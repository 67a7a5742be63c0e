package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/beckonhealth/beckon"
	beckonapp "github.com/beckonhealth/beckon/app"
)

var errUsage = errors.New("usage")

// Main is the program: tests build one, call ParseFlags and Run, and Close it.
// What runs is package app's; Main parses the command line into its Config.
type Main struct {
	Stdout io.Writer
	Stderr io.Writer // logs go here
	Getenv func(string) string
	Clock  beckon.Clock

	Config beckonapp.Config
	// App is the running application, once Run has been called.
	App *beckonapp.App

	role   string
	clinic beckonapp.ClinicArgs
	key    beckonapp.KeyArgs
	replay beckonapp.ReplayArgs
}

// NewMain returns a Main bound to the process's streams and environment.
func NewMain() *Main {
	return &Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Clock: beckon.SystemClock{}}
}

const usage = `beckon: patient messaging and appointment reminders

Usage:
  beckon serve      every role in one process (embedded defaults: SQLite, in-process Redis, outbox)
  beckon api        the HTTP API only            (needs REDIS_URL)
  beckon worker     delivery workers only        (needs REDIS_URL)
  beckon scheduler  the pump only                (needs REDIS_URL)
  beckon migrate    apply database migrations and exit
  beckon clinic create -name NAME [-time-zone ZONE] [-phone E164]
  beckon key create -clinic ID [-role admin|ehr] [-name NAME]
  beckon ehr replay [-clinic ID] [-since TIME] [-id inb_…] [-failed] [-from DB] [-dry-run]

Run "beckon serve -h" for the settings; each also reads BECKON_* variables.
`

// ParseFlags reads the command and its flags.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	cfg, err := beckonapp.ConfigFromEnv(m.Getenv)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return errUsage
	}
	role, rest := args[0], args[1:]
	switch role {
	case beckonapp.RoleServe, beckonapp.RoleAPI, beckonapp.RoleWorker, beckonapp.RoleScheduler, beckonapp.RoleMigrate:
	case "ehr":
		if len(rest) == 0 || rest[0] != "replay" {
			fmt.Fprint(m.Stderr, usage)
			return errUsage
		}
		role, rest = beckonapp.RoleReplay, rest[1:]
	case "clinic", "key":
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprint(m.Stderr, usage)
			return errUsage
		}
		role, rest = "admin-"+role, rest[1:]
	case "-h", "--help", "help":
		fmt.Fprint(m.Stdout, usage)
		return errUsage
	default:
		fmt.Fprintf(m.Stderr, "unknown command %q\n\n%s", role, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("beckon "+role, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	cfg.BindFlags(fs)
	m.bindCommandFlags(fs, role)
	if err := fs.Parse(rest); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	m.Config = cfg.WithDefaults()
	m.role = role
	return m.Config.Validate(role)
}

// bindCommandFlags binds the flags of the one-shot commands.
func (m *Main) bindCommandFlags(fs *flag.FlagSet, role string) {
	switch role {
	case beckonapp.RoleClinicCreate:
		fs.StringVar(&m.clinic.Name, "name", "", "clinic name (required)")
		fs.StringVar(&m.clinic.TimeZone, "time-zone", "America/New_York", "clinic IANA time zone")
		fs.StringVar(&m.clinic.Phone, "phone", "", "clinic phone in E.164, shown in messages")
	case beckonapp.RoleKeyCreate:
		fs.StringVar(&m.key.Clinic, "clinic", "", "clinic id (required)")
		fs.StringVar((*string)(&m.key.Role), "role", string(beckon.RoleAdmin), "admin or ehr")
		fs.StringVar(&m.key.Name, "name", "", "a label for the key")
	case beckonapp.RoleReplay:
		fs.StringVar(&m.replay.Clinic, "clinic", "", "only this clinic's messages (default: all)")
		fs.StringVar(&m.replay.Since, "since", "", "only messages received at or after this RFC 3339 time")
		fs.StringVar(&m.replay.ID, "id", "", "only this archived message (inb_…)")
		fs.StringVar(&m.replay.From, "from", "", "read the archive from this database (postgres:// URL or SQLite path) and apply here: moving into a new installation")
		fs.BoolVar(&m.replay.Failed, "failed", false, "only messages that were rejected or failed")
		fs.BoolVar(&m.replay.DryRun, "dry-run", false, "list what would be replayed, change nothing")
	}
}

// LongRunning reports whether the command serves until stopped.
func (m *Main) LongRunning() bool { return beckonapp.LongRunning(m.role) }

// Run starts the command's roles and returns once they run (admin commands do
// their work and return).
func (m *Main) Run(ctx context.Context) error {
	a := beckonapp.New(m.Config, m.role)
	a.Stdout, a.Stderr, a.Clock = m.Stdout, m.Stderr, m.Clock
	m.App = a
	if err := a.Open(ctx); err != nil {
		return err
	}
	switch m.role {
	case beckonapp.RoleMigrate:
		fmt.Fprintln(m.Stdout, "database is up to date")
		return nil
	case beckonapp.RoleClinicCreate:
		return a.CreateClinic(ctx, m.clinic)
	case beckonapp.RoleKeyCreate:
		return a.CreateKey(ctx, m.key)
	case beckonapp.RoleReplay:
		return a.Replay(ctx, m.replay)
	}
	return a.Start(ctx)
}

// Close stops every role and releases resources.
func (m *Main) Close() error {
	if m.App == nil {
		return nil
	}
	return m.App.Close()
}
