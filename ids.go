package beckon

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet, as ULIDs use it.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns prefix followed by 26 characters of Crockford base32: a 48-bit
// unix millisecond timestamp and 80 random bits, like a ULID. IDs made by one
// process are strictly increasing, also within one millisecond, so they sort in
// creation order.
func NewID(prefix string) string {
	var b [16]byte
	ids.next(&b)
	return prefix + encodeID(b)
}

// ids is the process's generator; one generator makes IDs monotonic.
var ids idGen

type idGen struct {
	mu   sync.Mutex
	ms   uint64
	hi   uint16 // high 16 of the 80 random bits
	lo   uint64 // low 64
	seed [10]byte
}

func (g *idGen) next(b *[16]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ms := uint64(time.Now().UnixMilli())
	if ms > g.ms {
		g.ms = ms
		_, _ = rand.Read(g.seed[:]) // never fails (crypto/rand panics instead)
		g.hi = binary.BigEndian.Uint16(g.seed[:2])
		g.lo = binary.BigEndian.Uint64(g.seed[2:])
	} else {
		// Same millisecond (or the clock went back): increment the random part.
		g.lo++
		if g.lo == 0 {
			g.hi++
			if g.hi == 0 {
				g.ms++ // 80 bits exhausted: borrow the next millisecond
			}
		}
	}
	b[0] = byte(g.ms >> 40)
	b[1] = byte(g.ms >> 32)
	b[2] = byte(g.ms >> 24)
	b[3] = byte(g.ms >> 16)
	b[4] = byte(g.ms >> 8)
	b[5] = byte(g.ms)
	binary.BigEndian.PutUint16(b[6:8], g.hi)
	binary.BigEndian.PutUint64(b[8:], g.lo)
}

// encodeID writes 128 bits as 26 base32 characters (the first one carries 3 bits).
func encodeID(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
