package channels

import (
	"context"
	"fmt"

	"github.com/beckonhealth/beckon"
)

// Router picks the channel that delivers a clinic's messages of one kind
// ("sms" or "email").
type Router interface {
	Channel(ctx context.Context, clinicID string, kind beckon.Channel) (Channel, error)
}

// Static routes every clinic's messages of a kind to the same channel.
type Static map[beckon.Channel]Channel

// Channel returns the channel for kind.
func (s Static) Channel(_ context.Context, _ string, kind beckon.Channel) (Channel, error) {
	ch, ok := s[kind]
	if !ok {
		return nil, &Error{Kind: KindPermanent, Code: "no_channel", Reason: fmt.Sprintf("no %s channel configured", kind)}
	}
	return ch, nil
}
