package store_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/store/storetest"
)

func sendIDs(ss []beckon.Send) []string {
	return ids(ss, func(s beckon.Send) string { return s.ID })
}

func TestSendInsertAndGet(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			full := beckon.Send{
				ID:                 "snd_full",
				ClinicID:           b.clinic.ID,
				AppointmentID:      "A-1",
				AppointmentVersion: 7,
				PatientID:          "MRN-1",
				CampaignID:         "cmp_1",
				CampaignRevision:   3,
				StepID:             "day-before",
				Channel:            beckon.ChannelPreferred,
				Template:           "reminder",
				DueAt:              b.now.Add(time.Hour),
				BeforeStart:        true,
				OnlyIfUnconfirmed:  true,
				Status:             beckon.SendSent,
				Reason:             "ok",
				Attempts:           2,
				ClaimToken:         "tok",
				ClaimedAt:          b.now.Add(2 * time.Hour),
				EnqueuedAt:         b.now.Add(3 * time.Hour),
				SentAt:             b.now.Add(4 * time.Hour),
				MessageID:          "msg_1",
				CreatedAt:          b.now,
				UpdatedAt:          b.now.Add(5 * time.Hour),
			}
			// Zero times and an empty status: planned.
			sparse := beckon.Send{
				ID:        "snd_sparse",
				ClinicID:  b.clinic.ID,
				CreatedAt: b.now,
				UpdatedAt: b.now,
			}
			noErr(t, "insert", b.st.SendInsert(b.ctx, []beckon.Send{full, sparse}))
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, full.ID)
			noErr(t, "get", err)
			equal(t, "full", got, full)
			got, err = b.st.SendGet(b.ctx, b.clinic.ID, sparse.ID)
			noErr(t, "get", err)
			sparse.Status = beckon.SendPlanned
			equal(t, "sparse", got, sparse)
		})
		t.Run("ExistingLeftAlone", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
				DueAt: b.now,
			})
			again := s
			again.DueAt = b.now.Add(time.Hour)
			again.Status = beckon.SendSkipped
			fresh := beckon.Send{ID: "snd_new", ClinicID: b.clinic.ID, DueAt: b.now}
			noErr(t, "insert", b.st.SendInsert(b.ctx, []beckon.Send{again, fresh, fresh}))
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "existing", got, s)
			_, err = b.st.SendGet(b.ctx, b.clinic.ID, "snd_new")
			noErr(t, "get new", err)
			noErr(t, "insert nothing", b.st.SendInsert(b.ctx, nil))
		})
		t.Run("Many", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			const n = 1234 // more than two chunks
			sends := make([]beckon.Send, n)
			for i := range sends {
				sends[i] = beckon.Send{
					ID:            fmt.Sprintf("snd_%05d", i),
					ClinicID:      b.clinic.ID,
					AppointmentID: "A-1",
					DueAt:         b.now.Add(time.Duration(i) * time.Second),
				}
			}
			noErr(t, "insert", b.st.SendInsert(b.ctx, sends))
			got, err := b.st.SendListByAppointment(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "list", err)
			if len(got) != n || got[0].ID != "snd_00000" || got[n-1].ID != fmt.Sprintf("snd_%05d", n-1) {
				t.Fatalf("listed %d sends", len(got))
			}
		})
		t.Run("Missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, err := b.st.SendGet(b.ctx, b.clinic.ID, "nope")
			isErr(t, "get", err, beckon.ErrNotFound)
		})
	})
}

func TestSendListByAppointment(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("OrderAndIsolation", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			mk := func(clinicID, id, appt string, due time.Duration) {
				storetest.Send(t, b.st, clinicID, storetest.SendOpts{
					ID:            id,
					AppointmentID: appt,
					DueAt:         b.now.Add(due),
				})
			}
			mk(b.clinic.ID, "s3", "A-1", 2*time.Hour)
			mk(b.clinic.ID, "s2", "A-1", time.Hour)
			mk(b.clinic.ID, "s1", "A-1", time.Hour)
			mk(b.clinic.ID, "s4", "A-2", time.Hour)
			mk(other.ID, "s5", "A-1", time.Hour)
			got, err := b.st.SendListByAppointment(b.ctx, b.clinic.ID, "A-1")
			noErr(t, "list", err)
			equal(t, "clinic A", sendIDs(got), []string{"s1", "s2", "s3"})
			got, err = b.st.SendListByAppointment(b.ctx, other.ID, "A-1")
			noErr(t, "list", err)
			equal(t, "clinic B", sendIDs(got), []string{"s5"})
		})
	})
}

func TestSendSupersede(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		// seed makes planned sends k1, k2 (campaign c1), x1 (c1), y1 (c2), a
		// sent one (c1), another appointment's (c1) and another clinic's.
		seed := func(t *testing.T, b *bundle) {
			t.Helper()
			other := b.otherClinic(t)
			mk := func(clinicID, id, appt, campaign string, status beckon.SendStatus) {
				storetest.Send(t, b.st, clinicID, storetest.SendOpts{
					ID:            id,
					AppointmentID: appt,
					CampaignID:    campaign,
					Status:        status,
					DueAt:         b.now,
				})
			}
			mk(b.clinic.ID, "k1", "A-1", "c1", beckon.SendPlanned)
			mk(b.clinic.ID, "k2", "A-1", "c1", beckon.SendPlanned)
			mk(b.clinic.ID, "x1", "A-1", "c1", beckon.SendPlanned)
			mk(b.clinic.ID, "y1", "A-1", "c2", beckon.SendPlanned)
			mk(b.clinic.ID, "done", "A-1", "c1", beckon.SendSent)
			mk(b.clinic.ID, "elsewhere", "A-2", "c1", beckon.SendPlanned)
			mk(other.ID, "foreign", "A-1", "c1", beckon.SendPlanned)
		}
		statuses := func(t *testing.T, b *bundle) map[string]beckon.SendStatus {
			t.Helper()
			out := map[string]beckon.SendStatus{}
			for _, id := range []string{"k1", "k2", "x1", "y1", "done", "elsewhere", "foreign"} {
				clinic := b.clinic.ID
				if id == "foreign" {
					clinic = "cln_b"
				}
				s, err := b.st.SendGet(b.ctx, clinic, id)
				noErr(t, "get", err)
				out[id] = s.Status
			}
			return out
		}
		t.Run("Keep", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			seed(t, b)
			n, err := b.st.SendSupersedeMany(b.ctx, beckon.SendSupersedeManyParams{
				ClinicID:       b.clinic.ID,
				AppointmentIDs: []string{"A-1"},
				Keep:           []string{"k1", "k2"},
				Reason:         "rescheduled",
				Now:            b.now.Add(time.Minute),
			})
			noErr(t, "supersede", err)
			equal(t, "count", n, 2)
			equal(t, "statuses", statuses(t, b), map[string]beckon.SendStatus{
				"k1": beckon.SendPlanned, "k2": beckon.SendPlanned,
				"x1": beckon.SendSuperseded, "y1": beckon.SendSuperseded,
				"done": beckon.SendSent, "elsewhere": beckon.SendPlanned, "foreign": beckon.SendPlanned,
			})
			x1, err := b.st.SendGet(b.ctx, b.clinic.ID, "x1")
			noErr(t, "get", err)
			equal(t, "reason", x1.Reason, "rescheduled")
			equal(t, "updated", x1.UpdatedAt, b.now.Add(time.Minute))
		})
		t.Run("KeepNothing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			seed(t, b)
			n, err := b.st.SendSupersedeMany(b.ctx, beckon.SendSupersedeManyParams{
				ClinicID:       b.clinic.ID,
				AppointmentIDs: []string{"A-1"},
				Reason:         "cancelled",
				Now:            b.now,
			})
			noErr(t, "supersede", err)
			equal(t, "count", n, 4)
		})
	})
}

func TestSendListDue(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("Selection", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			other := b.otherClinic(t)
			mk := func(clinicID, id string, due time.Duration, status beckon.SendStatus, enqueued time.Time) {
				storetest.Send(t, b.st, clinicID, storetest.SendOpts{
					ID:         id,
					DueAt:      b.now.Add(due),
					Status:     status,
					EnqueuedAt: enqueued,
				})
			}
			var never time.Time
			mk(b.clinic.ID, "due-late", 10*time.Minute, beckon.SendPlanned, never)
			mk(b.clinic.ID, "due-early", -time.Hour, beckon.SendPlanned, never)
			mk(other.ID, "due-other-clinic", 0, beckon.SendPlanned, never)
			mk(b.clinic.ID, "at-horizon", 15*time.Minute, beckon.SendPlanned, never)
			mk(b.clinic.ID, "past-horizon", 16*time.Minute, beckon.SendPlanned, never)
			mk(b.clinic.ID, "enqueued-long-ago", time.Minute, beckon.SendPlanned, b.now.Add(-time.Hour))
			mk(b.clinic.ID, "enqueued-at-cutoff", time.Minute, beckon.SendPlanned, b.now.Add(-30*time.Minute))
			mk(b.clinic.ID, "enqueued-recently", time.Minute, beckon.SendPlanned, b.now.Add(-time.Minute))
			mk(b.clinic.ID, "claimed", 0, beckon.SendClaimed, never)
			mk(b.clinic.ID, "sent", 0, beckon.SendSent, never)

			p := beckon.SendListDueParams{
				DueBefore:      b.now.Add(15 * time.Minute),
				EnqueuedBefore: b.now.Add(-30 * time.Minute),
			}
			got, err := b.st.SendListDue(b.ctx, p)
			noErr(t, "list", err)
			equal(t, "due", sendIDs(got), []string{
				"due-early", "due-other-clinic", "enqueued-at-cutoff", "enqueued-long-ago",
				"due-late", "at-horizon",
			})

			p.Limit = 2
			got, err = b.st.SendListDue(b.ctx, p)
			noErr(t, "list", err)
			equal(t, "limited", sendIDs(got), []string{"due-early", "due-other-clinic"})

			got, err = b.st.SendListDue(b.ctx, beckon.SendListDueParams{
				DueBefore: b.now.Add(15 * time.Minute),
			})
			noErr(t, "list", err)
			equal(t, "never enqueued only", sendIDs(got), []string{
				"due-early", "due-other-clinic", "due-late", "at-horizon",
			})
		})
		t.Run("MarkEnqueued", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			const n = 2500 // more than two batches
			sends := make([]beckon.Send, n)
			all := make([]string, n)
			for i := range sends {
				all[i] = fmt.Sprintf("snd_%05d", i)
				sends[i] = beckon.Send{ID: all[i], ClinicID: b.clinic.ID, DueAt: b.now}
			}
			sends[0].Status = beckon.SendClaimed
			noErr(t, "insert", b.st.SendInsert(b.ctx, sends))
			noErr(t, "mark", b.st.SendMarkEnqueued(b.ctx, all, b.now))
			noErr(t, "mark nothing", b.st.SendMarkEnqueued(b.ctx, nil, b.now))

			got, err := b.st.SendListDue(b.ctx, beckon.SendListDueParams{
				DueBefore:      b.now,
				EnqueuedBefore: b.now.Add(-time.Millisecond),
			})
			noErr(t, "list", err)
			equal(t, "due after marking", len(got), 0)
			last, err := b.st.SendGet(b.ctx, b.clinic.ID, all[n-1])
			noErr(t, "get", err)
			equal(t, "enqueued at", last.EnqueuedAt, b.now)
			first, err := b.st.SendGet(b.ctx, b.clinic.ID, all[0])
			noErr(t, "get", err)
			equal(t, "claimed send not marked", first.EnqueuedAt, time.Time{})

			got, err = b.st.SendListDue(b.ctx, beckon.SendListDueParams{
				DueBefore:      b.now,
				EnqueuedBefore: b.now,
			})
			noErr(t, "list", err)
			equal(t, "due again once old enough", len(got), n-1)
		})
	})
}

func TestSendClaim(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("Planned", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
				DueAt:      b.now,
				EnqueuedAt: b.now,
			})
			got, claimed, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
				ID:          s.ID,
				Token:       "tok-1",
				Now:         b.now.Add(time.Second),
				StaleBefore: b.now.Add(-time.Minute),
			})
			noErr(t, "claim", err)
			equal(t, "claimed", claimed, true)
			want := s
			want.Status = beckon.SendClaimed
			want.ClaimToken = "tok-1"
			want.ClaimedAt = b.now.Add(time.Second)
			want.Attempts = 1
			want.UpdatedAt = b.now.Add(time.Second)
			equal(t, "send", got, want)
			stored, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "stored", stored, want)
		})
		t.Run("FreshClaimNotTaken", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
				Status:     beckon.SendClaimed,
				ClaimToken: "tok-1",
				ClaimedAt:  b.now.Add(-time.Minute),
				Attempts:   1,
			})
			got, claimed, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
				ID:          s.ID,
				Token:       "tok-2",
				Now:         b.now,
				StaleBefore: b.now.Add(-5 * time.Minute),
			})
			noErr(t, "claim", err)
			equal(t, "claimed", claimed, false)
			equal(t, "send", got, s)

			_, claimed, err = b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
				ID:    s.ID,
				Token: "tok-2",
				Now:   b.now,
			})
			noErr(t, "claim", err)
			equal(t, "claimed without StaleBefore", claimed, false)
		})
		t.Run("StaleClaimRetaken", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
				Status:     beckon.SendClaimed,
				ClaimToken: "tok-1",
				ClaimedAt:  b.now.Add(-5 * time.Minute),
				Attempts:   1,
			})
			got, claimed, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
				ID:          s.ID,
				Token:       "tok-2",
				Now:         b.now,
				StaleBefore: b.now.Add(-5 * time.Minute), // at or before: stale
			})
			noErr(t, "claim", err)
			equal(t, "claimed", claimed, true)
			equal(t, "token", got.ClaimToken, "tok-2")
			equal(t, "attempts", got.Attempts, 2)
			equal(t, "claimed at", got.ClaimedAt, b.now)

			err = b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:     s.ID,
				Token:  "tok-1",
				Status: beckon.SendSent,
				Now:    b.now,
			})
			isErr(t, "old token finishes", err, beckon.ErrConflict)
		})
		t.Run("FinishedNotTaken", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, status := range []beckon.SendStatus{
				beckon.SendSent, beckon.SendSkipped, beckon.SendSuperseded, beckon.SendFailed, beckon.SendUnknown,
			} {
				s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
					Status:    status,
					ClaimedAt: b.now.Add(-time.Hour),
				})
				got, claimed, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
					ID:          s.ID,
					Token:       "tok",
					Now:         b.now,
					StaleBefore: b.now,
				})
				noErr(t, "claim", err)
				equal(t, string(status)+" claimed", claimed, false)
				equal(t, string(status)+" send", got, s)
			}
		})
		t.Run("Missing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			_, _, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID, ID: "nope", Token: "t", Now: b.now})
			isErr(t, "claim", err, beckon.ErrNotFound)
		})
		t.Run("Race", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
				DueAt: b.now,
			})
			const n = 8
			var (
				wg      sync.WaitGroup
				start   = make(chan struct{})
				winners = make(chan string, n)
				errs    = make(chan error, n)
			)
			for i := range n {
				wg.Go(func() {
					<-start
					token := fmt.Sprintf("tok-%d", i)
					_, claimed, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
						ID:          s.ID,
						Token:       token,
						Now:         b.now,
						StaleBefore: b.now.Add(-time.Minute),
					})
					if err != nil {
						errs <- err
					}
					if claimed {
						winners <- token
					}
				})
			}
			close(start)
			wg.Wait()
			close(winners)
			close(errs)
			for err := range errs {
				t.Errorf("claim: %v", err)
			}
			var won []string
			for w := range winners {
				won = append(won, w)
			}
			if len(won) != 1 {
				t.Fatalf("winners = %v, want exactly one", won)
			}
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "token", got.ClaimToken, won[0])
			equal(t, "attempts", got.Attempts, 1)
		})
	})
}

func TestSendListStaleClaims(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		t.Run("Selection", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			mk := func(id string, status beckon.SendStatus, claimedAgo time.Duration) {
				storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
					ID:         id,
					Status:     status,
					ClaimToken: "tok",
					ClaimedAt:  b.now.Add(-claimedAgo),
				})
			}
			mk("fresh", beckon.SendClaimed, time.Minute)
			mk("at-cutoff", beckon.SendClaimed, 10*time.Minute)
			mk("oldest", beckon.SendClaimed, time.Hour)
			mk("old", beckon.SendClaimed, 30*time.Minute)
			mk("finished", beckon.SendSent, time.Hour)
			got, err := b.st.SendListStaleClaims(b.ctx, b.now.Add(-10*time.Minute), 0)
			noErr(t, "list", err)
			equal(t, "stale", sendIDs(got), []string{"oldest", "old", "at-cutoff"})
			got, err = b.st.SendListStaleClaims(b.ctx, b.now.Add(-10*time.Minute), 1)
			noErr(t, "list", err)
			equal(t, "limited", sendIDs(got), []string{"oldest"})
		})
	})
}

func TestSendFinishAndRelease(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, setup setupFunc) {
		claimed := func(t *testing.T, b *bundle) beckon.Send {
			t.Helper()
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{
				DueAt:      b.now,
				EnqueuedAt: b.now,
			})
			got, ok, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
				ID:    s.ID,
				Token: "tok",
				Now:   b.now,
			})
			noErr(t, "claim", err)
			if !ok {
				t.Fatal("not claimed")
			}
			return got
		}
		t.Run("FinishSent", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := claimed(t, b)
			noErr(t, "finish", b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:        s.ID,
				Token:     "tok",
				Status:    beckon.SendSent,
				Reason:    "accepted",
				MessageID: "msg_1",
				Now:       b.now.Add(time.Second),
			}))
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			want := s
			want.Status = beckon.SendSent
			want.Reason = "accepted"
			want.MessageID = "msg_1"
			want.SentAt = b.now.Add(time.Second)
			want.UpdatedAt = b.now.Add(time.Second)
			equal(t, "send", got, want)

			isErr(t, "finish twice", b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:     s.ID,
				Token:  "tok",
				Status: beckon.SendFailed,
				Now:    b.now,
			}), beckon.ErrConflict)
		})
		t.Run("FinishSkipped", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := claimed(t, b)
			noErr(t, "finish", b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:     s.ID,
				Token:  "tok",
				Status: beckon.SendSkipped,
				Reason: "opted out",
				Now:    b.now,
			}))
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "status", got.Status, beckon.SendSkipped)
			equal(t, "reason", got.Reason, "opted out")
			equal(t, "sent at", got.SentAt, time.Time{})
		})
		t.Run("FinishWrongToken", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := claimed(t, b)
			isErr(t, "finish", b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:     s.ID,
				Token:  "other",
				Status: beckon.SendSent,
				Now:    b.now,
			}), beckon.ErrConflict)
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "unchanged", got, s)
		})
		t.Run("FinishBadStatus", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := claimed(t, b)
			err := b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:     s.ID,
				Token:  "tok",
				Status: beckon.SendPlanned,
				Now:    b.now,
			})
			if err == nil {
				t.Fatal("finishing as planned: no error")
			}
		})
		t.Run("FinishMissing", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			isErr(t, "finish", b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:     "nope",
				Token:  "tok",
				Status: beckon.SendSent,
			}), beckon.ErrNotFound)
		})
		t.Run("FinishUnclaimed", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := storetest.Send(t, b.st, b.clinic.ID, storetest.SendOpts{})
			isErr(t, "finish", b.st.SendFinish(b.ctx, beckon.SendFinishParams{
				ID:     s.ID,
				Token:  "",
				Status: beckon.SendSent,
			}), beckon.ErrConflict)
		})
		t.Run("Release", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := claimed(t, b)
			noErr(t, "release", b.st.SendRelease(b.ctx, beckon.SendReleaseParams{
				ID:     s.ID,
				Token:  "tok",
				Reason: "quiet hours",
				DueAt:  b.now.Add(10 * time.Hour),
				Now:    b.now.Add(time.Second),
			}))
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			want := s
			want.Status = beckon.SendPlanned
			want.Reason = "quiet hours"
			want.DueAt = b.now.Add(10 * time.Hour)
			want.ClaimToken = ""
			want.ClaimedAt = time.Time{}
			want.EnqueuedAt = time.Time{}
			want.UpdatedAt = b.now.Add(time.Second)
			equal(t, "send", got, want)

			isErr(t, "release twice", b.st.SendRelease(b.ctx, beckon.SendReleaseParams{
				ID:    s.ID,
				Token: "tok",
				Now:   b.now,
			}), beckon.ErrConflict)

			again, ok, err := b.st.SendClaim(b.ctx, beckon.SendClaimParams{ClinicID: b.clinic.ID,
				ID:    s.ID,
				Token: "tok-2",
				Now:   b.now.Add(2 * time.Second),
			})
			noErr(t, "claim again", err)
			equal(t, "claimed again", ok, true)
			equal(t, "attempts", again.Attempts, 2)
		})
		t.Run("ReleaseKeepsDue", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := claimed(t, b)
			noErr(t, "release", b.st.SendRelease(b.ctx, beckon.SendReleaseParams{
				ID:    s.ID,
				Token: "tok",
				Now:   b.now,
			}))
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "due", got.DueAt, s.DueAt)
			equal(t, "status", got.Status, beckon.SendPlanned)
		})
		t.Run("ReleaseWrongToken", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			s := claimed(t, b)
			isErr(t, "release", b.st.SendRelease(b.ctx, beckon.SendReleaseParams{
				ID:    s.ID,
				Token: "other",
				Now:   b.now,
			}), beckon.ErrConflict)
			isErr(t, "release missing", b.st.SendRelease(b.ctx, beckon.SendReleaseParams{
				ID:    "nope",
				Token: "tok",
				Now:   b.now,
			}), beckon.ErrNotFound)
			got, err := b.st.SendGet(b.ctx, b.clinic.ID, s.ID)
			noErr(t, "get", err)
			equal(t, "unchanged", got, s)
		})
	})
}
