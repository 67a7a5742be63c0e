package beckon_test

import (
	"strings"
	"testing"

	"github.com/beckonhealth/beckon"
)

func TestNewID(t *testing.T) {
	t.Parallel()
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	prev := ""
	seen := map[string]bool{}
	for range 10000 {
		id := beckon.NewID("msg_")
		rest, ok := strings.CutPrefix(id, "msg_")
		if !ok || len(rest) != 26 {
			t.Fatalf("NewID = %q", id)
		}
		for _, r := range rest {
			if !strings.ContainsRune(alphabet, r) {
				t.Fatalf("NewID = %q: %q is not Crockford base32", id, r)
			}
		}
		if rest[0] > '7' {
			t.Fatalf("NewID = %q: more than 128 bits", id)
		}
		if id <= prev {
			t.Fatalf("NewID = %q after %q: not increasing", id, prev)
		}
		if seen[id] {
			t.Fatalf("NewID = %q twice", id)
		}
		seen[id] = true
		prev = id
	}
}
