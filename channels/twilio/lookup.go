package twilio

import (
	"context"
	"strings"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/beckonhealth/beckon/channels"
)

// lookupLimit bounds how many list records one lookup pass reads.
const lookupLimit = 500

// Lookup tells whether Twilio already accepted the message m (used to resolve
// a claim left by a crashed worker).
//
// How a send is matched. Twilio's list API does not return the StatusCallback
// (the only field that carries the send id) and has no free-form metadata, so
// the match is on what it does return: the same To, the same sender (From, or
// the messaging service), exactly the same body, and a date_created inside
// the lookup window (Options.LookupWindow before now). The list is filtered
// server-side by To and From.
//
// Two passes. The first filters by DateSent> (window start), as Twilio's
// indexes favour; but a message still queued at Twilio has no date_sent and
// such a filter does not return it, so when the first pass finds nothing a
// second pass lists by To/From alone, newest first, stopping at the window.
//
// Several matches (the same text sent twice to one patient inside the window)
// return the newest, found=true: for crash recovery, not sending again is the
// side of at-most-once. A body redacted at Twilio (content retention) cannot
// match, so Lookup then answers found=false; keep retention on, or treat
// not-found with care when it is off.
func (c *Channel) Lookup(ctx context.Context, m channels.Message) (channels.Receipt, bool, error) {
	if m.To == "" {
		return channels.Receipt{}, false, &channels.Error{Kind: channels.KindPermanent, Code: "invalid_message", Reason: "twilio: lookup needs To"}
	}
	since := c.opts.Now().Add(-c.opts.LookupWindow).UTC().Truncate(time.Second)

	ctx, cancel := context.WithTimeout(ctx, c.opts.HTTPTimeout)
	defer cancel()

	first := c.listParams(m.To)
	first.SetDateSentAfter(since)
	if r, ok, err := c.scan(ctx, first, m, since); err != nil || ok {
		return r, ok, err
	}
	return c.scan(ctx, c.listParams(m.To), m, since)
}

func (c *Channel) listParams(to string) *openapi.ListMessageParams {
	p := &openapi.ListMessageParams{}
	p.SetTo(to)
	if c.opts.From != "" {
		p.SetFrom(c.opts.From)
	}
	p.SetPageSize(100)
	p.SetLimit(lookupLimit)
	return p
}

// scan reads the list (newest first) and returns the newest match.
func (c *Channel) scan(ctx context.Context, p *openapi.ListMessageParams, m channels.Message, since time.Time) (channels.Receipt, bool, error) {
	api, call := c.api(ctx)
	records, errs := api.StreamMessage(p)
	var (
		best    openapi.ApiV2010Message
		bestAt  time.Time
		found   bool
		stopped bool
	)
	for rec := range records {
		if stopped {
			continue // drain: the SDK's goroutine must finish
		}
		created, err := time.Parse(time.RFC1123Z, deref(rec.DateCreated))
		if err != nil {
			continue
		}
		if created.Before(since) {
			stopped = true // newest first: the rest is older still
			continue
		}
		if !c.matches(rec, m) {
			continue
		}
		if !found || created.After(bestAt) {
			best, bestAt, found = rec, created, true
		}
	}
	if err := <-errs; err != nil && !stopped {
		return channels.Receipt{}, false, classify(err, call)
	}
	if !found {
		return channels.Receipt{}, false, nil
	}
	return channels.Receipt{
		Provider:   Provider,
		ProviderID: deref(best.Sid),
		Status:     receiptStatus(deref(best.Status)),
		From:       deref(best.From),
	}, true, nil
}

func (c *Channel) matches(rec openapi.ApiV2010Message, m channels.Message) bool {
	if deref(rec.To) != m.To {
		return false
	}
	if d := deref(rec.Direction); d != "" && !strings.HasPrefix(d, "outbound") {
		return false
	}
	if c.opts.From != "" && deref(rec.From) != "" && deref(rec.From) != c.opts.From {
		return false
	}
	if c.opts.From == "" && c.opts.MessagingServiceSID != "" && deref(rec.MessagingServiceSid) != c.opts.MessagingServiceSID {
		return false
	}
	return deref(rec.Body) == m.Text
}
