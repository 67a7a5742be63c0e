package channelstest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestScriptTakesFailuresAndDelaysInOrder(t *testing.T) {
	t.Parallel()
	var s Script[string, int]
	s.FailNext(1, 500)
	s.FailNext(2, 429)
	s.DelayNext(1, time.Second)
	s.SetDelay(time.Millisecond)
	var tapped []string
	s.Tap(func(r string) { tapped = append(tapped, r) })

	type step struct {
		fail  int // 0: none
		delay time.Duration
	}
	var got []step
	for _, r := range []string{"a", "b", "c", "d"} {
		f, d := s.Received(r)
		st := step{delay: d}
		if f != nil {
			st.fail = *f
		}
		got = append(got, st)
	}
	want := []step{{500, time.Second}, {429, time.Millisecond}, {429, time.Millisecond}, {0, time.Millisecond}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("call %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if rs := s.Requests(); len(rs) != 4 || rs[0] != "a" || rs[3] != "d" || len(tapped) != 4 {
		t.Fatalf("requests %v, tapped %v", rs, tapped)
	}

	s.KeepRequests(false)
	s.Received("e")
	if n := len(s.Requests()); n != 4 || len(tapped) != 5 {
		t.Fatalf("not keeping: %d requests kept, %d tapped; want 4 and 5", n, len(tapped))
	}
	s.FailNext(1, 503)
	s.ResetScript()
	if f, d := s.Received("f"); f != nil || d != 0 || len(s.Requests()) != 0 {
		t.Fatalf("after reset: fail %v, delay %v, %d requests", f, d, len(s.Requests()))
	}
}

func TestAnswerWaitsOrGivesUpWithTheClient(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	Answer(w, httptest.NewRequest(http.MethodGet, "/", nil), time.Millisecond, 201, http.Header{"X-A": {"1"}}, []byte("ok"))
	if w.Code != 201 || w.Header().Get("X-A") != "1" || w.Body.String() != "ok" {
		t.Fatalf("answer: %d %v %q", w.Code, w.Header(), w.Body)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client is gone
	w = httptest.NewRecorder()
	Answer(w, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx), time.Hour, 201, nil, []byte("late"))
	if w.Body.Len() != 0 {
		t.Fatalf("answered %q to a client that went away", w.Body)
	}
}
