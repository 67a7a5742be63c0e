package links_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/links"
)

func signer(t *testing.T, b byte) *links.Signer {
	t.Helper()
	s, err := links.NewSigner(bytes.Repeat([]byte{b}, links.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	clock := beckon.NewManualClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	start := clock.Now().Add(48 * time.Hour)
	l := links.Link{ClinicID: "cli_a", AppointmentID: "apt_1", SendID: "snd_1", Action: links.Confirm,
		Expires: links.Expiry(links.Confirm, start, clock.Now())}
	s := signer(t, 1)
	tok, err := s.Sign(l)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(tok, "+/=?&# ") {
		t.Fatalf("token %q is not URL-safe", tok)
	}

	t.Run("RoundTrip", func(t *testing.T) {
		got, err := s.Verify(tok, clock.Now())
		if err != nil || got != l {
			t.Fatalf("Verify = %+v, %v; want %+v", got, err, l)
		}
		again, _ := s.Sign(l)
		if again != tok || got.ID() != l.ID() || !strings.HasPrefix(l.ID(), "lnk_") {
			t.Fatalf("signing twice gives %q (id %s), want %q (id %s)", again, got.ID(), tok, l.ID())
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		p64, sig64, _ := strings.Cut(tok, ".")
		flip := func(s string, i int) string {
			b := []byte(s)
			b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
			return string(b)
		}
		for name, bad := range map[string]string{
			"payload":   flip(p64, len(p64)/2) + "." + sig64,
			"signature": p64 + "." + flip(sig64, 3),
			"no dot":    p64 + sig64,
			"empty":     "",
			"short sig": p64 + "." + sig64[:10],
			"not b64":   p64 + ".!!!!" + sig64[4:],
			"too long":  strings.Repeat("A", links.MaxTokenLen+1),
		} {
			if _, err := s.Verify(bad, clock.Now()); !errors.Is(err, links.ErrInvalid) {
				t.Errorf("%s: Verify = %v, want ErrInvalid", name, err)
			}
		}
	})
	t.Run("OtherKey", func(t *testing.T) {
		if _, err := signer(t, 2).Verify(tok, clock.Now()); !errors.Is(err, links.ErrInvalid) {
			t.Fatalf("another installation's key: %v, want ErrInvalid", err)
		}
	})
	t.Run("WrongClinic", func(t *testing.T) {
		// A token cannot be moved to another clinic: the clinic is signed.
		other := l
		other.ClinicID = "cli_b"
		otherTok, _ := s.Sign(other)
		p64, _, _ := strings.Cut(otherTok, ".")
		_, sig64, _ := strings.Cut(tok, ".")
		if _, err := s.Verify(p64+"."+sig64, clock.Now()); !errors.Is(err, links.ErrInvalid) {
			t.Fatalf("clinic swapped under the same signature: %v, want ErrInvalid", err)
		}
		if other.ID() == l.ID() {
			t.Fatal("links of two clinics share an id")
		}
	})
	t.Run("ExpiresAtStart", func(t *testing.T) {
		c := beckon.NewManualClock(clock.Now())
		c.Set(start.Add(-time.Second))
		if _, err := s.Verify(tok, c.Now()); err != nil {
			t.Fatalf("a second before the start: %v", err)
		}
		c.Set(start)
		got, err := s.Verify(tok, c.Now())
		if !errors.Is(err, links.ErrExpired) || got.SendID != "snd_1" {
			t.Fatalf("at the start: %+v, %v; want the link and ErrExpired", got, err)
		}
	})
	t.Run("UnsubscribeSixtyDays", func(t *testing.T) {
		u := l
		u.Action = links.Unsubscribe
		u.Expires = links.Expiry(links.Unsubscribe, start, clock.Now())
		ut, _ := s.Sign(u)
		c := beckon.NewManualClock(clock.Now())
		c.Advance(59 * 24 * time.Hour)
		if _, err := s.Verify(ut, c.Now()); err != nil {
			t.Fatalf("after 59 days: %v", err)
		}
		c.Advance(24 * time.Hour)
		if _, err := s.Verify(ut, c.Now()); !errors.Is(err, links.ErrExpired) {
			t.Fatalf("after 60 days: %v, want ErrExpired", err)
		}
	})
	t.Run("SignRefuses", func(t *testing.T) {
		for _, bad := range []links.Link{
			{SendID: "s", Action: links.Confirm, Expires: start},
			{ClinicID: "c", SendID: "s", Action: "delete", Expires: start},
			{ClinicID: "c", SendID: "s", Action: links.Confirm},
		} {
			if _, err := s.Sign(bad); err == nil {
				t.Errorf("Sign(%+v) = nil error", bad)
			}
		}
		if _, err := links.NewSigner(make([]byte, 16)); err == nil {
			t.Error("a 16-byte key accepted")
		}
	})
}

// memSecrets is an in-memory SecretStore that keeps the first value.
type memSecrets struct {
	mu    sync.Mutex
	m     map[string][]byte
	calls int
	fail  error
}

func (s *memSecrets) InstallationSecret(_ context.Context, name string, fresh []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		return nil, s.fail
	}
	if _, ok := s.m[name]; !ok {
		s.m[name] = fresh
	}
	return s.m[name], nil
}

func TestKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &memSecrets{m: map[string][]byte{}, fail: errors.New("down")}
	a := &links.Keys{Store: st}
	if _, err := a.Signer(ctx); err == nil {
		t.Fatal("a store failure gave a signer")
	}
	st.fail = nil
	sa, err := a.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.m[links.KeyName]) != links.KeySize || bytes.Equal(st.m[links.KeyName], make([]byte, links.KeySize)) {
		t.Fatalf("stored key %x: want 32 random bytes", st.m[links.KeyName])
	}
	// Another process with the same store verifies what this one signed.
	b := &links.Keys{Store: st}
	sb, err := b.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := links.Link{ClinicID: "c", SendID: "s", Action: links.Cancel, Expires: time.Unix(2e9, 0)}
	tok, _ := sa.Sign(l)
	if _, err := sb.Verify(tok, time.Unix(1e9, 0)); err != nil {
		t.Fatalf("other process: %v", err)
	}
	calls := st.calls
	if _, err := a.Signer(ctx); err != nil || st.calls != calls {
		t.Fatalf("second use read the store again (%d calls, %v)", st.calls-calls, err)
	}
}
