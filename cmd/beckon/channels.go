package main

import (
	"time"

	"github.com/beckonhealth/beckon/channels"
	"github.com/beckonhealth/beckon/channels/outbox"
	"github.com/beckonhealth/beckon/store"
)

// channelRouter picks the channels deliveries go through: the outbox for now.
func (m *Main) channelRouter() (channels.Router, error) {
	ob := outbox.New(m.store, func() time.Time { return m.Clock.Now() })
	return channels.Static{store.ChannelSMS: ob, store.ChannelEmail: ob}, nil
}
