package store_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// inboxEntry is a pending status of the clinic, received at b.now.
func inboxEntry(b *bundle, clinicID, key string) beckon.StatusInboxEntry {
	return beckon.StatusInboxEntry{
		ClinicID:   clinicID,
		Provider:   "twilio",
		Key:        key,
		Payload:    []byte(`{"key":"` + key + `"}`),
		ReceivedAt: b.now,
	}
}

// inboxEntries is n pending statuses of the clinic, keyed format % i.
func inboxEntries(b *bundle, format string, n int) []beckon.StatusInboxEntry {
	var out []beckon.StatusInboxEntry
	for i := range n {
		out = append(out, inboxEntry(b, b.clinic.ID, fmt.Sprintf(format, i)))
	}
	return out
}

func TestStatusInbox(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("StoredOncePerClinicProviderKey", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			first := inboxEntry(b, b.clinic.ID, "SM1:delivered")
			first.ID = "sin_1"
			noErr(t, "put", b.st.StatusInboxPut(b.ctx, []beckon.StatusInboxEntry{first}))

			retried := first
			retried.ID, retried.Payload, retried.ReceivedAt = "sin_2", []byte(`{"retried":true}`), b.now.Add(time.Minute)
			sendgrid := inboxEntry(b, b.clinic.ID, "SM1:delivered")
			sendgrid.Provider = "sendgrid"
			theirs := inboxEntry(b, other.ID, "SM1:delivered")
			// A post may repeat a key: it is stored once, without an error.
			noErr(t, "put again", b.st.StatusInboxPut(b.ctx, []beckon.StatusInboxEntry{retried, sendgrid, theirs, theirs}))

			got, err := b.st.StatusInboxGet(b.ctx, b.clinic.ID, "twilio", "SM1:delivered")
			noErr(t, "get", err)
			first.QueuedAt = b.now
			equal(t, "the first callback", got, first)
			if !got.Pending() {
				t.Fatal("a stored status is pending")
			}
			for _, c := range []struct{ clinic, provider string }{{b.clinic.ID, "sendgrid"}, {other.ID, "twilio"}} {
				got, err := b.st.StatusInboxGet(b.ctx, c.clinic, c.provider, "SM1:delivered")
				noErr(t, "get "+c.clinic+" "+c.provider, err)
				if got.ID == "" || got.ID == first.ID {
					t.Fatalf("%s %s: id %q, want an entry of its own", c.clinic, c.provider, got.ID)
				}
			}
			_, err = b.st.StatusInboxGet(b.ctx, b.clinic.ID, "twilio", "SM2:delivered")
			isErr(t, "get missing", err, beckon.ErrNotFound)
		})
		t.Run("DoneIsScopedToTheClinic", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			noErr(t, "put", b.st.StatusInboxPut(b.ctx, []beckon.StatusInboxEntry{
				inboxEntry(b, b.clinic.ID, "k"), inboxEntry(b, other.ID, "k"),
			}))
			done := b.now.Add(time.Second)
			noErr(t, "done", b.st.StatusInboxDone(b.ctx, b.clinic.ID, "twilio", "k", done))
			noErr(t, "done again", b.st.StatusInboxDone(b.ctx, b.clinic.ID, "twilio", "k", done.Add(time.Hour)))
			noErr(t, "done of a status never stored", b.st.StatusInboxDone(b.ctx, b.clinic.ID, "twilio", "nope", done))
			mine, err := b.st.StatusInboxGet(b.ctx, b.clinic.ID, "twilio", "k")
			noErr(t, "get", err)
			equal(t, "done at", mine.DoneAt, done)
			theirs, err := b.st.StatusInboxGet(b.ctx, other.ID, "twilio", "k")
			noErr(t, "get theirs", err)
			if !theirs.Pending() {
				t.Fatal("another clinic's status with the same key was marked done")
			}
		})
		t.Run("PendingRotateThroughTheQueue", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			entries := inboxEntries(b, "k%d", 5)
			for i := range entries {
				entries[i].ID = fmt.Sprintf("sin_%d", i)
				entries[i].ReceivedAt = b.now.Add(time.Duration(i) * time.Second)
			}
			noErr(t, "put", b.st.StatusInboxPut(b.ctx, entries))
			noErr(t, "done", b.st.StatusInboxDone(b.ctx, b.clinic.ID, "twilio", "k1", b.now))
			id := func(e beckon.StatusInboxEntry) string { return e.ID }

			got, err := b.st.StatusInboxListPending(b.ctx, b.now.Add(3*time.Second), 10)
			noErr(t, "list", err)
			equal(t, "pending received before +3s", ids(got, id), []string{"sin_0", "sin_2"})
			got, err = b.st.StatusInboxListPending(b.ctx, b.now.Add(time.Hour), 2)
			noErr(t, "list", err)
			equal(t, "the two least recently queued", ids(got, id), []string{"sin_0", "sin_2"})

			// Handed to asynq: they go to the back of the queue, and a done
			// one is not touched.
			later := b.now.Add(time.Minute)
			noErr(t, "mark queued", b.st.StatusInboxMarkQueued(b.ctx, []string{"sin_0", "sin_1", "sin_2"}, later))
			noErr(t, "mark nothing", b.st.StatusInboxMarkQueued(b.ctx, nil, later))
			got, err = b.st.StatusInboxListPending(b.ctx, b.now.Add(time.Hour), 10)
			noErr(t, "list", err)
			equal(t, "after the requeue", ids(got, id), []string{"sin_3", "sin_4", "sin_0", "sin_2"})
			equal(t, "queued at", got[2].QueuedAt, later)
			done, err := b.st.StatusInboxGet(b.ctx, b.clinic.ID, "twilio", "k1")
			noErr(t, "get done", err)
			equal(t, "done entry's queued at", done.QueuedAt, b.now.Add(time.Second))
		})
		t.Run("PruneDoneOnlyInBoundedBatches", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			entries := inboxEntries(b, "k%d", 5)
			noErr(t, "put", b.st.StatusInboxPut(b.ctx, entries))
			for i := range 4 {
				noErr(t, "done", b.st.StatusInboxDone(b.ctx, b.clinic.ID, "twilio", fmt.Sprintf("k%d", i), b.now.Add(time.Duration(i)*time.Hour)))
			}
			cutoff := b.now.Add(150 * time.Minute) // k0, k1 and k2 were done before
			n, err := b.st.StatusInboxPrune(b.ctx, cutoff, 2)
			noErr(t, "prune", err)
			equal(t, "pruned", n, 2)
			n, err = b.st.StatusInboxPrune(b.ctx, cutoff, 2)
			noErr(t, "prune again", err)
			equal(t, "pruned the rest", n, 1)
			n, err = b.st.StatusInboxPrune(b.ctx, cutoff, 2)
			noErr(t, "prune nothing", err)
			equal(t, "pruned nothing", n, 0)
			for i, want := range []bool{false, false, false, true, true} {
				_, err := b.st.StatusInboxGet(b.ctx, b.clinic.ID, "twilio", fmt.Sprintf("k%d", i))
				if kept := err == nil; kept != want {
					t.Fatalf("k%d kept=%v (%v), want %v", i, kept, err, want)
				}
			}
		})
		t.Run("LargePostInOneCall", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			entries := inboxEntries(b, "ev-%04d", 1200)
			noErr(t, "put", b.st.StatusInboxPut(b.ctx, entries))
			got, err := b.st.StatusInboxListPending(b.ctx, b.now.Add(time.Second), 2000)
			noErr(t, "list", err)
			equal(t, "stored", len(got), 1200)
		})
		t.Run("ConcurrentRetriesOfOneBatch", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			entries := inboxEntries(b, "ev-%02d", 400)
			// Each writer stores the same keys in another order: none may
			// fail (a deadlock) and each key is stored once.
			var wg sync.WaitGroup
			errs := make([]error, 8)
			for w := range errs {
				mine := append([]beckon.StatusInboxEntry(nil), entries...)
				rand.Shuffle(len(mine), func(i, j int) { mine[i], mine[j] = mine[j], mine[i] })
				wg.Go(func() { errs[w] = b.st.StatusInboxPut(b.ctx, mine) })
			}
			wg.Wait()
			for w, err := range errs {
				noErr(t, fmt.Sprintf("writer %d", w), err)
			}
			got, err := b.st.StatusInboxListPending(b.ctx, b.now.Add(time.Second), 1000)
			noErr(t, "list", err)
			equal(t, "stored", len(got), 400)
		})
	})
}
