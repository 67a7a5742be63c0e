// Package outbox is the development channel: instead of sending, it keeps every
// message in the store, where the dashboard and the API show it as the
// patient's phone or inbox would.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/beckonhealth/beckon"
	"github.com/beckonhealth/beckon/channels"
)

// Store is what the outbox needs of the store.
type Store interface {
	OutboxPut(ctx context.Context, e beckon.OutboxEntry) (bool, error)
	OutboxGetBySend(ctx context.Context, clinicID, sendID string) (beckon.OutboxEntry, error)
}

// Channel is the outbox channel. It is idempotent by send id: a second Send for
// the same send returns the first entry's receipt.
type Channel struct {
	store Store
	now   func() time.Time
}

// New returns an outbox channel writing to st; now stamps the entries.
func New(st Store, now func() time.Time) *Channel {
	return &Channel{store: st, now: now}
}

// Provider is the name receipts carry.
const Provider = "outbox"

// Send stores the message.
func (c *Channel) Send(ctx context.Context, m channels.Message) (channels.Receipt, error) {
	e := beckon.OutboxEntry{
		ID:        beckon.NewID("obx_"),
		ClinicID:  m.ClinicID,
		SendID:    m.SendID,
		Channel:   m.Channel,
		To:        m.To,
		Subject:   m.Subject,
		Body:      m.Text,
		HTML:      m.HTML,
		Headers:   m.Headers,
		CreatedAt: c.now().UTC(),
	}
	created, err := c.store.OutboxPut(ctx, e)
	if err != nil {
		return channels.Receipt{}, &channels.Error{Kind: channels.KindTransient, Code: "outbox_write", Reason: "outbox write failed", Err: err}
	}
	if !created {
		r, found, err := c.Lookup(ctx, m)
		if err != nil || !found {
			return channels.Receipt{}, &channels.Error{Kind: channels.KindTransient, Code: "outbox_read", Reason: "outbox read failed", Err: err}
		}
		return r, nil
	}
	return receipt(e), nil
}

// Lookup finds the entry of a send of the message's clinic.
func (c *Channel) Lookup(ctx context.Context, m channels.Message) (channels.Receipt, bool, error) {
	e, err := c.store.OutboxGetBySend(ctx, m.ClinicID, m.SendID)
	if errors.Is(err, beckon.ErrNotFound) {
		return channels.Receipt{}, false, nil
	}
	if err != nil {
		return channels.Receipt{}, false, fmt.Errorf("outbox lookup: %w", err)
	}
	return receipt(e), true, nil
}

func receipt(e beckon.OutboxEntry) channels.Receipt {
	return channels.Receipt{Provider: Provider, ProviderID: e.ID, Status: beckon.MessageDelivered, From: "outbox"}
}

// Provider implements channels.Named.
func (c *Channel) Provider() string { return Provider }
