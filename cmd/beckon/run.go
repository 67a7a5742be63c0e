package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/beckonhealth/beckon"
	beckonapp "github.com/beckonhealth/beckon/app"
	"github.com/beckonhealth/beckon/sealed"
)

// errUsage and errHelp end ParseFlags once it has printed the usage: for a
// mistake (exit 2) or because help was asked for (exit 0).
var (
	errUsage = errors.New("usage")
	errHelp  = errors.New("help")
)

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
	rotate beckonapp.RotateArgs
	closed bool
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
  beckon secrets keygen   print a new secret key (for BECKON_SECRET_KEY)
  beckon secrets rotate [-batch N]   seal every stored secret again with BECKON_SECRET_KEY
  beckon version    the module version and VCS revision of this binary

Run "beckon COMMAND -h" for that command's flags. Each setting is also read
from the environment variable in brackets; a flag overrides it. Provider
settings (BECKON_CHANNEL, BECKON_PUBLIC_URL, BECKON_TWILIO_*,
BECKON_SENDGRID_*) come from the environment only: see the README's
Configuration section.
`

// ParseFlags reads the command and its flags.
func (m *Main) ParseFlags(_ context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "version", "-version", "--version":
		m.role = roleVersion
		return nil
	case "secrets":
		if len(args) > 1 && args[1] == "keygen" {
			m.role = roleKeygen
			return nil
		}
	case "-h", "-help", "--help", "help":
		fmt.Fprint(m.Stdout, usage)
		fmt.Fprintf(m.Stdout, "\nFlags of serve, api, worker and scheduler:\n")
		fs := flag.NewFlagSet("beckon", flag.ContinueOnError)
		fs.SetOutput(m.Stdout)
		var cfg beckonapp.Config
		cfg.BindFlags(fs, beckonapp.RoleServe)
		fs.PrintDefaults()
		return errHelp
	}
	cfg, err := beckonapp.ConfigFromEnv(m.Getenv)
	if err != nil {
		return err
	}
	role, rest := args[0], args[1:]
	command := role
	switch role {
	case beckonapp.RoleServe, beckonapp.RoleAPI, beckonapp.RoleWorker, beckonapp.RoleScheduler, beckonapp.RoleMigrate:
	case "ehr":
		if len(rest) == 0 || rest[0] != "replay" {
			fmt.Fprint(m.Stderr, usage)
			return errUsage
		}
		role, rest, command = beckonapp.RoleReplay, rest[1:], "ehr replay"
	case "clinic", "key":
		if len(rest) == 0 || rest[0] != "create" {
			fmt.Fprint(m.Stderr, usage)
			return errUsage
		}
		role, rest, command = "admin-"+role, rest[1:], role+" create"
	case "secrets":
		if len(rest) == 0 || rest[0] != "rotate" {
			fmt.Fprint(m.Stderr, usage)
			return errUsage
		}
		role, rest, command = beckonapp.RoleRotate, rest[1:], "secrets rotate"
	default:
		fmt.Fprintf(m.Stderr, "unknown command %q\n\n%s", role, usage)
		return errUsage
	}
	fs := flag.NewFlagSet("beckon "+command, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	cfg.BindFlags(fs, role)
	m.bindCommandFlags(fs, role)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: beckon %s [flags]\n\nFlags (a setting's environment variable in brackets; the flag overrides it):\n", command)
		fs.PrintDefaults()
	}
	if slices.ContainsFunc(rest, isHelpFlag) {
		fs.SetOutput(m.Stdout)
		fs.Usage()
		return errHelp
	}
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

// roleVersion is `beckon version`; roleKeygen is `beckon secrets keygen`.
const (
	roleVersion = "version"
	roleKeygen  = "secrets-keygen"
)

// isHelpFlag reports whether a command-line argument asks for help.
func isHelpFlag(a string) bool {
	switch a {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
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
	case beckonapp.RoleRotate:
		fs.IntVar(&m.rotate.Batch, "batch", 500, "rows resealed per transaction")
	}
}

// LongRunning reports whether the command serves until stopped.
func (m *Main) LongRunning() bool { return beckonapp.LongRunning(m.role) }

// Run starts the command's roles and returns once they run (admin commands do
// their work and return).
func (m *Main) Run(ctx context.Context) error {
	if m.role == roleVersion {
		b := beckonapp.ReadBuildInfo()
		fmt.Fprintf(m.Stdout, "beckon %s\nrevision %s\n", b.Version, cmp.Or(b.Revision, "unknown (the build recorded none)"))
		if b.Time != "" {
			fmt.Fprintf(m.Stdout, "committed %s\n", b.Time)
		}
		fmt.Fprintf(m.Stdout, "built with %s\n", b.Go)
		return nil
	}
	if m.role == roleKeygen {
		fmt.Fprintln(m.Stdout, sealed.NewKey())
		return nil
	}
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
	case beckonapp.RoleRotate:
		return a.RotateSecrets(ctx, m.rotate)
	}
	return a.Start(ctx)
}

// Close stops every role and releases resources; a second Close does
// nothing.
func (m *Main) Close() error {
	if m.App == nil || m.closed {
		return nil
	}
	m.closed = true
	return m.App.Close()
}
