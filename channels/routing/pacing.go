package routing

import (
	"context"
	"strings"

	"github.com/beckonhealth/beckon/channels"
)

// PaceHeadroom: sends are spaced at this share of a sender's rate. The
// provider counts on its own clock, and a request delayed on its way (a new
// connection, a busy machine) lets the next ones catch up with it: at 80%,
// ten slots of a 10/s sender span 1.25 s, so 250 ms of such delay still keeps
// any second at the provider within the rate.
const PaceHeadroom = 0.8

// DefaultSMSRate is a sender's throughput by its kind: short code 100/s,
// toll-free 3/s, long code (and a messaging service, whose numbers are not
// known here) 1/s.
func DefaultSMSRate(from, msid string) float64 {
	switch {
	case from == "" && msid != "":
		return 1
	case len(from) >= 5 && len(from) <= 6 && !strings.HasPrefix(from, "+"):
		return 100
	case len(from) == 12 && strings.HasPrefix(from, "+1") && tollFree[from[2:5]]:
		return 3
	}
	return 1
}

// tollFree are the North American toll-free area codes.
var tollFree = map[string]bool{"800": true, "833": true, "844": true, "855": true, "866": true, "877": true, "888": true}

// paced is a channel with its sender's bucket (channels.Paced).
type paced struct {
	channels.Channel
	key  string
	rate float64
}

func (p paced) Pace() (string, float64) { return p.key, p.rate }

// pacedLooker is a paced channel that can also look sends up.
type pacedLooker struct {
	paced
	looker channels.Looker
}

func (p pacedLooker) Lookup(ctx context.Context, m channels.Message) (channels.Receipt, bool, error) {
	return p.looker.Lookup(ctx, m)
}

// pacedReporter is a paced channel whose provider reports by events.
type pacedReporter struct {
	paced
	channels.Reporter
}

// Provider implements channels.Named: the paced channel's provider.
func (p paced) Provider() string { return channels.ProviderOf(p.Channel) }
