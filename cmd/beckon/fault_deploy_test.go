//go:build unix

package main

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels/sendgrid/sendgridtest"
	"github.com/beckonhealth/beckon/channels/twilio/twiliotest"
	"github.com/beckonhealth/beckon/store"
	"github.com/beckonhealth/beckon/store/storetest"
)

// The fault suite runs the real program, as separate OS processes, against
// the Twilio and SendGrid stand-ins running in the test process. On
// "servers" (PostgreSQL and Redis named by DATABASE_URL and REDIS_URL) a
// deployment is `beckon api`, two `beckon worker` and a `beckon scheduler`,
// each test in a PostgreSQL schema and an asynq queue of its own; on
// "embedded" it is one `beckon serve` on a SQLite file with its in-process
// Redis, and a crash is that process killed and started again on the same
// data directory.
//
// Recovery settings (claim timeout, recheck, pump and poll intervals) are
// left at their defaults: what the suite measures is what a deployment gets.

// faultSuiteVar is the environment variable that runs the fault-injection
// suite: it runs the real program as separate processes for minutes, killing
// and restarting them on the wall clock, so the README's quick run leaves it
// out and CI (.ci/run) runs it as a step of its own.
const faultSuiteVar = "BECKON_FAULT_SUITE"

// faultSuite skips the suite unless BECKON_FAULT_SUITE=1, and returns the
// backends to run.
func faultSuite(t *testing.T) []string {
	t.Helper()
	gatedSuite(t, faultSuiteVar, "fault-injection suite: runs the real program for minutes")
	return backends()
}

// gatedSuite skips the test unless the suite's variable is 1.
func gatedSuite(t *testing.T, envVar, what string) {
	t.Helper()
	if os.Getenv(envVar) != "1" {
		t.Skip(what + "; set " + envVar + "=1 to run it")
	}
}

// deployOpts is what a case sets; zero fields get the defaults shown.
type deployOpts struct {
	TwilioPerSecond   string // default 1000
	SendGridPerSecond string // default 1000
	// RedisURL replaces the deployment's Redis (a Redis the test stops and
	// starts); on embedded it makes `serve` use it instead of its own.
	RedisURL string
}

// deployment is Beckon running as separate processes for one test, with its
// stand-ins, an API client with the demo clinic's admin key, and a view of
// its store.
type deployment struct {
	*app
	backend  string
	env      []string
	clinicID string
	st       beckon.Store
	procs    map[string]*proc

	tw    *twiliotest.Server
	sg    *sendgridtest.Server
	sgKey *ecdsa.PrivateKey // signs SendGrid events
}

var (
	demoClinicLine = regexp.MustCompile(`Created the demo clinic (cln_\S+) `)
	demoKeyLine    = regexp.MustCompile(`Admin API key \(shown once, keep it\): (bk_\S+)`)
)

// startDeployment starts Beckon on the backend with its stand-ins.
func startDeployment(t *testing.T, backend string, o deployOpts) *deployment {
	t.Helper()
	tw, sg := twiliotest.New(), sendgridtest.New()
	t.Cleanup(tw.Close)
	t.Cleanup(sg.Close)
	// A sender and an account of this test's own: pacing buckets live in
	// Redis, keyed by sender, and CI's Redis is shared.
	var n [2]byte
	_, _ = rand.Read(n[:])
	from := fmt.Sprintf("+1415777%04d", (int(n[0])<<8|int(n[1]))%10000)
	sgAPIKey := randomName("SG.fault.")
	sg.AddKey(sgAPIKey)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	addr := freeAddr(t)
	vars := map[string]string{
		"BECKON_HTTP_ADDR":            addr,
		"BECKON_PUBLIC_URL":           "http://" + addr,
		"BECKON_QUEUE":                randomName("fault-"),
		"BECKON_LOG_LEVEL":            "info",
		"BECKON_CHANNEL":              "providers",
		"BECKON_TWILIO_ACCOUNT_SID":   twiliotest.AccountSID,
		"BECKON_TWILIO_AUTH_TOKEN":    twiliotest.AuthToken,
		"BECKON_TWILIO_FROM":          from,
		"BECKON_TWILIO_BASE_URL":      tw.URL,
		"BECKON_TWILIO_PER_SECOND":    cmp.Or(o.TwilioPerSecond, "1000"),
		"BECKON_SENDGRID_API_KEY":     sgAPIKey,
		"BECKON_SENDGRID_FROM":        "clinic@example.org",
		"BECKON_SENDGRID_BASE_URL":    sg.URL,
		"BECKON_SENDGRID_PER_SECOND":  cmp.Or(o.SendGridPerSecond, "1000"),
		"BECKON_SENDGRID_WEBHOOK_KEY": base64.StdEncoding.EncodeToString(der),
		// The test's event webhook reports every accepted mail within a
		// second of Beckon answering again; an email whose call was cut off
		// before SendGrid took it gets no event and is sent again after this
		// wait (10 min by default). The wait covers the restart of a killed
		// serve on a loaded machine (20 s and more at load average 20): a
		// shorter one resends mails whose events were still on their way.
		"BECKON_SENDGRID_EVENT_WAIT": "45s",
	}
	var dsn string
	switch backend {
	case "servers":
		dsn = storetest.PostgresSchema(t, os.Getenv("DATABASE_URL"))
		vars["BECKON_REDIS_URL"] = cmp.Or(o.RedisURL, os.Getenv("REDIS_URL"))
		// Four processes share PostgreSQL with the rest of CI.
		vars["BECKON_DB_MAX_CONNS"] = "10"
	case "embedded":
		dsn = filepath.Join(t.TempDir(), "beckon.db")
		if o.RedisURL != "" {
			vars["BECKON_REDIS_URL"] = o.RedisURL
		}
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	vars["BECKON_DATABASE_URL"] = dsn
	vars["BECKON_SECRET_KEY"] = storetest.Key
	d := &deployment{app: &app{t: t, base: "http://" + addr}, backend: backend, env: childEnv(vars), procs: map[string]*proc{}, tw: tw, sg: sg, sgKey: key}

	var out string
	if backend == "servers" {
		runProc(t, "migrate", d.env, "migrate")
		out = d.start("api", "api")
	} else {
		out = d.start("serve", "serve")
	}
	clinic, apiKey := demoClinicLine.FindStringSubmatch(out), demoKeyLine.FindStringSubmatch(out)
	if clinic == nil || apiKey == nil {
		t.Fatalf("no demo clinic and key in the output:\n%s", tail(out, 4000))
	}
	d.clinicID = clinic[1]
	d.key = apiKey[1]
	if backend == "servers" {
		d.start("worker-1", "worker")
		d.start("worker-2", "worker")
		d.start("scheduler", "scheduler")
	}

	d.st = openDeploymentStore(t, dsn)
	d.mustCall(http.StatusOK, http.MethodPut, "/v1/clinic", map[string]any{
		"name": "Fault Clinic", "time_zone": "America/New_York", "quiet_hours": map[string]any{"enabled": false},
	}, nil)
	return d
}

// openDeploymentStore opens the store of a deployment's database (the test's
// view of it), closed when the test ends.
func openDeploymentStore(t *testing.T, dsn string) beckon.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.OpenWith(ctx, dsn, store.Options{MaxConns: 4, Secrets: storetest.Keyring(t)})
	if err != nil {
		t.Fatalf("open the deployment's store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// start runs one role and waits until it has started; it returns the output
// so far.
func (d *deployment) start(name, role string) string {
	d.t.Helper()
	p := startProc(d.t, name, d.env, role)
	d.procs[name] = p
	// Logs carry ids and sizes: no patient's number, address or message.
	d.t.Cleanup(func() { assertNoPHI(d.t, p.out.String(), "+141555501", "@example.com", "Reminder ") })
	return p.waitOutput(time.Minute, "beckon started")
}

// crashWorker is kill -9 of a delivery worker: on servers the busiest of the
// two (the one that has logged the most deliveries: asynq tends to give a
// burst to one worker), and the other carries on; on embedded the one serve
// process, started again at once on the same data. It returns the moment of
// the kill and which process it was.
func (d *deployment) crashWorker() (time.Time, string) {
	d.t.Helper()
	if d.backend == "servers" {
		victim := "worker-1"
		if delivered(d.procs["worker-2"]) > delivered(d.procs["worker-1"]) {
			victim = "worker-2"
		}
		return d.procs[victim].kill(), victim
	}
	at := d.procs["serve"].kill()
	d.start("serve-restarted", "serve")
	d.procs["serve"] = d.procs["serve-restarted"]
	return at, "serve"
}

// delivered is how many sends a process has logged as delivered.
func delivered(p *proc) int { return strings.Count(p.out.String(), `msg="send delivered"`) }

// childEnv is this process's environment without Beckon's settings, plus vars.
func childEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "BECKON_") || k == "DATABASE_URL" || k == "REDIS_URL" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}
