package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/beckonhealth/beckon"
)

// countingInbox counts the status inbox's writes.
type countingInbox struct {
	beckon.Store
	writes, rows atomic.Int64
}

func (c *countingInbox) StatusInboxPut(ctx context.Context, entries []beckon.StatusInboxEntry) error {
	c.writes.Add(1)
	c.rows.Add(int64(len(entries)))
	return c.Store.StatusInboxPut(ctx, entries)
}

// BenchmarkTwilioStatusCallbacks posts signed Twilio status callbacks from
// many clients at once (the store of DATABASE_URL, or SQLite; an in-process
// Redis) and reports how many statuses shared each inbox transaction.
func BenchmarkTwilioStatusCallbacks(b *testing.B) {
	var counter *countingInbox
	h := setupHooksWith(b, hookOpts{store: func(st beckon.Store) beckon.Store {
		counter = &countingInbox{Store: st}
		return counter
	}})
	var n atomic.Int64
	b.SetParallelism(16) // 16 clients per CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{}
		for pb.Next() {
			path, body, header := h.twilioCallback(fmt.Sprintf("SM%d", n.Add(1)), "delivered")
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+path, bytes.NewReader(body))
			for k, v := range header {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	if w := counter.writes.Load(); w > 0 {
		b.ReportMetric(float64(counter.rows.Load())/float64(w), "statuses/tx")
	}
}
