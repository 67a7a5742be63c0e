package worker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/tasks"
)

// Batches of interpretations: the messages whose tasks run at the same
// moment are interpreted in one transaction. A task's lane (its clinic's
// sender, tasks.InterpretLane) picks one of interpretLanes batchers, each
// running one batch at a time: two replies from one number never run in
// two transactions at once, and a batch takes them in the order received.
const (
	interpretLanes    = 4
	interpretBatchMax = 100
	interpretTimeout  = 30 * time.Second
)

// interpretRef names a message to interpret.
type interpretRef struct{ clinicID, messageID string }

// interpreted is a message a transaction interpreted, and what it did.
type interpreted struct {
	msg beckon.InboundSMS
	res Interpretation
}

// messageError is one message's failure inside a batch.
type messageError struct {
	id  string
	err error
}

func (e *messageError) Error() string { return "message " + e.id + ": " + e.err.Error() }
func (e *messageError) Unwrap() error { return e.err }

// interpretIn interprets the message in the batch of its lane, and returns
// once the batch has committed it (or failed it).
func (h *InterpretHandler) interpretIn(ctx context.Context, lane int, clinicID, messageID string) error {
	b := h.lanes[(lane%tasks.InterpretLanes)%interpretLanes]
	res, err := b.Do(ctx, interpretRef{clinicID: clinicID, messageID: messageID})
	return errors.Join(err, res)
}

// runBatch interprets the batch's messages in one transaction. When it
// fails, each message is interpreted again in a transaction of its own (in
// the same order), so that one message's failure costs the others nothing:
// the failing one's task gets its error and is retried.
func (h *InterpretHandler) runBatch(ctx context.Context, refs []interpretRef) ([]error, error) {
	out := make([]error, len(refs))
	if len(refs) == 1 {
		out[0] = h.interpretOne(ctx, refs[0])
		return out, nil
	}
	var done []interpreted
	err := h.store.InTx(ctx, func(q beckon.Querier) error {
		var err error
		done, err = h.interpretAll(ctx, q, refs)
		return err
	})
	if err == nil {
		h.committed(ctx, done)
		return out, nil
	}
	h.logger.Debug("interpretation batch failed; each message alone", slog.Int("messages", len(refs)), slog.String("error", err.Error()))
	for i, ref := range refs {
		out[i] = h.interpretOne(ctx, ref)
	}
	return out, nil
}

// loadInbound reads the messages of refs (each once), in the order
// received: by their receipt time, then the order of refs. missing are the
// refs whose clinic does not have the message.
func loadInbound(ctx context.Context, q beckon.Querier, refs []interpretRef) (msgs []beckon.InboundSMS, missing []interpretRef, err error) {
	byClinic := map[string][]string{}
	var clinics []string
	for _, r := range refs {
		if _, ok := byClinic[r.clinicID]; !ok {
			clinics = append(clinics, r.clinicID)
		}
		byClinic[r.clinicID] = append(byClinic[r.clinicID], r.messageID)
	}
	found := map[interpretRef]beckon.InboundSMS{}
	for _, c := range clinics {
		got, err := q.InboundSMSGetMany(ctx, c, byClinic[c])
		if err != nil {
			return nil, nil, err
		}
		for id, m := range got {
			found[interpretRef{clinicID: c, messageID: id}] = m
		}
	}
	msgs = make([]beckon.InboundSMS, 0, len(found))
	seen := map[interpretRef]bool{}
	for _, r := range refs {
		m, ok := found[r]
		if !ok {
			missing = append(missing, r)
		}
		if !ok || seen[r] {
			continue
		}
		seen[r] = true
		msgs = append(msgs, m)
	}
	slices.SortStableFunc(msgs, func(a, b beckon.InboundSMS) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return msgs, missing, nil
}
