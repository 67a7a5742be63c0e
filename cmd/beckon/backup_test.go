//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// The README's backup and restore, done as an operator would: a deployment
// on PostgreSQL books sends, the whole deployment is lost (its processes
// and its Redis killed), the database's pg_dump is restored into a fresh
// database, and Beckon started on it with an empty Redis sends every send
// that was planned, each once, and still holds the ones planned beyond the
// horizon. It runs with the high-availability suite (BECKON_HA_SUITE=1) and
// needs PostgreSQL (DATABASE_URL), pg_dump and pg_restore.
func TestHABackupRestore(t *testing.T) {
	haSuite(t)
	t.Parallel()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		t.Skip("DATABASE_URL not set: the backup is a PostgreSQL dump")
	}
	for _, bin := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skip(bin + " is not installed")
		}
	}
	r1 := startRedisServer(t, "")
	d := startDeployment(t, "servers", deployOpts{RedisURL: r1.URL()})
	// Due after the restore; the pump hands them to Redis at once, and the
	// store records that it did (Redis, lost below, had them).
	soon := d.book(burstPlan{prefix: "bk-soon", channel: "sms", patients: 10, steps: 3, offset: 10 * time.Minute, dueIn: 20 * time.Second})
	later := d.bookLater(soon, 2*time.Hour)
	waitFor(t, 30*time.Second, "the pump to hand the soon sends to Redis", func() bool {
		for _, s := range d.current(soon) {
			if s.EnqueuedAt.IsZero() {
				return false
			}
		}
		return true
	})

	dsn := d.env[envIndex(d.env, "BECKON_DATABASE_URL")][len("BECKON_DATABASE_URL="):]
	restored := restoreDump(t, base, dsn)
	for _, p := range d.procs {
		p.kill()
	}
	r1.stop()
	if n := len(d.tw.Messages()); n != 0 {
		t.Fatalf("%d messages sent before the restore", n)
	}

	r2 := startRedisServer(t, "")
	setEnv(d.env, "BECKON_DATABASE_URL", restored)
	setEnv(d.env, "BECKON_REDIS_URL", r2.URL())
	d.st = openDeploymentStore(t, restored)
	for _, role := range []string{"api", "worker", "scheduler"} {
		d.start("restored-"+role, role)
	}

	ended := d.awaitEnded(soon, time.Now().Add(recoveryDeadline))
	f := count("backup-restore", "servers", ended, smsHits(d), everySend)
	f.report(t)
	f.assertRecovered(t, soon.start)
	if f.Sent != len(soon.sends) {
		t.Errorf("%d of %d planned sends sent from the restored database", f.Sent, len(soon.sends))
	}
	for id, s := range d.current(later) {
		if s.Status != beckon.SendPlanned || !s.DueAt.Equal(later.sends[id].DueAt) {
			t.Errorf("send %s beyond the horizon restored as %s due %s", id, s.Status, s.DueAt)
		}
	}
	if n := len(d.current(later)); n != len(later.sends) {
		t.Errorf("%d of %d sends beyond the horizon restored", n, len(later.sends))
	}
}

// bookLater gives each patient of b a second appointment, its sends (the
// same campaign's) due after the given time: beyond the horizon.
func (d *deployment) bookLater(b booked, after time.Duration) booked {
	d.t.Helper()
	patientOf := map[string]string{}
	for _, s := range b.sends {
		patientOf[s.AppointmentID] = s.PatientID
	}
	later := booked{start: b.start.Add(after), sends: map[string]beckon.Send{}}
	var appts []map[string]any
	for _, id := range b.apptIDs {
		aid := id + "-later"
		appts = append(appts, map[string]any{"id": aid, "patient_id": patientOf[id], "start": rfc(later.start)})
		later.apptIDs = append(later.apptIDs, aid)
	}
	d.mustCall(http.StatusOK, http.MethodPost, "/v1/appointments/batch", map[string]any{"appointments": appts}, nil)
	for _, s := range d.sendsOf(later.apptIDs) {
		later.sends[s.ID] = s
	}
	if want := len(b.sends); len(later.sends) != want {
		d.t.Fatalf("the later appointments planned %d sends, want %d", len(later.sends), want)
	}
	return later
}

// restoreDump dumps the schema of dsn (a storetest schema on the server of
// base) with pg_dump -Fc, restores it with pg_restore into a database of its
// own, dropped when the test ends, and returns the restored DSN.
func restoreDump(t *testing.T, base, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	dump := filepath.Join(t.TempDir(), "beckon.dump")
	run := func(name string, args ...string) {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run("pg_dump", "--format=custom", "--no-owner", "--schema="+schema, "--file="+dump, base)

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "beckon_restore_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	target, _ := url.Parse(base)
	target.Path = "/" + name
	run("pg_restore", "--no-owner", "--exit-on-error", "--dbname="+target.String(), dump)
	q := target.Query()
	q.Set("search_path", schema)
	target.RawQuery = q.Encode()
	return target.String()
}

// envIndex is the index of name's entry in env (-1 if none).
func envIndex(env []string, name string) int {
	for i, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return i
		}
	}
	return -1
}

// setEnv replaces name's entry in env.
func setEnv(env []string, name, value string) {
	env[envIndex(env, name)] = name + "=" + value
}
