package api

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/coalesce"
)

// Group writes of inbound messages.
const (
	inboundGroupRows = 200              // messages one write stores
	inboundWriters   = 2                // writes in flight at once
	inboundTimeout   = 10 * time.Second // bound on one write
)

// inboundWriter stores the messages of concurrent inbound webhooks in
// shared transactions, as inboxWriter does the statuses: the messages that
// arrive while a write is in flight go together in the next one (a few
// statements for all), and a message alone is written at once.
type inboundWriter struct {
	put func(ctx context.Context, ms []beckon.InboundSMS) ([]beckon.InboundSMSPutResult, error)

	once sync.Once
	msgs *coalesce.Batcher[beckon.InboundSMS, inboundPut]
}

// inboundPut is one message's outcome in a shared write.
type inboundPut struct {
	res beckon.InboundSMSPutResult
	err error
}

// write stores m (with its patient found, once per provider message id)
// and returns it as stored, and whether this write stored it. It waits for
// the write even if ctx ends (bounded by inboundTimeout).
func (w *inboundWriter) write(ctx context.Context, m beckon.InboundSMS) (beckon.InboundSMSPutResult, error) {
	w.once.Do(func() {
		w.msgs = &coalesce.Batcher[beckon.InboundSMS, inboundPut]{
			Max: inboundGroupRows, Lanes: inboundWriters, Timeout: inboundTimeout, Run: w.store,
		}
	})
	p, err := w.msgs.Do(ctx, m)
	return p.res, errors.Join(err, p.err)
}

// store writes the messages in one transaction; when that fails, each
// alone, so that one bad message costs the others nothing.
func (w *inboundWriter) store(ctx context.Context, ms []beckon.InboundSMS) ([]inboundPut, error) {
	out := make([]inboundPut, len(ms))
	res, err := w.put(ctx, ms)
	if err == nil {
		for i := range out {
			out[i].res = res[i]
		}
		return out, nil
	}
	if len(ms) == 1 {
		out[0].err = err
		return out, nil
	}
	for i, m := range ms {
		res, err := w.put(ctx, []beckon.InboundSMS{m})
		if err != nil {
			out[i].err = err
			continue
		}
		out[i].res = res[0]
	}
	return out, nil
}
