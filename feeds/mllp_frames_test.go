package feeds_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/beckonhealth/beckon"
)

// readAck reads one ACK frame off the client's connection.
func (m *mllpClient) readAck(t *testing.T) string {
	t.Helper()
	_ = m.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := m.r.ReadByte(); err != nil || b != 0x0B {
		t.Fatalf("no frame start: %v", err)
	}
	body, err := m.r.ReadBytes(0x1C)
	if err != nil {
		t.Fatal(err)
	}
	if cr, err := m.r.ReadByte(); err != nil || cr != 0x0D {
		t.Fatalf("no frame end: %v", err)
	}
	return string(body[:len(body)-1])
}

// TestMLLPFrameResync: a start block inside a frame ends that (broken)
// frame, which gets no ACK and is archived as refused, and begins the next,
// which is applied and acknowledged; a frame ended by 0x1C without its CR,
// right before the next start block, is complete.
func TestMLLPFrameResync(t *testing.T) {
	t.Parallel()
	b := mllpSetup(t)
	c := b.dial(t)
	now := time.Now()
	msg := func(control, id string) []byte {
		return []byte(mllpSIU("S12", control, id, "MRN-"+id, "Rivera", now, now.Add(48*time.Hour)))
	}
	cut := msg("CUT", "A-CUT")
	stream := [][]byte{
		{0x0B}, cut[:len(cut)/2], // broken: no end block
		{0x0B}, msg("ONE", "A-ONE"), {0x1C, 0x0D},
		{0x0B}, msg("TWO", "A-TWO"), {0x1C}, // CR left out
		{0x0B}, msg("THREE", "A-THREE"), {0x1C, 0x0D},
	}
	if _, err := c.c.Write(bytes.Join(stream, nil)); err != nil {
		t.Fatal(err)
	}
	for _, control := range []string{"ONE", "TWO", "THREE"} {
		ack := c.readAck(t)
		if got := msaCode(ack, control); got != "AA" {
			t.Fatalf("%s: %s in %q", control, got, ack)
		}
	}
	for _, id := range []string{"A-ONE", "A-TWO", "A-THREE"} {
		if _, err := b.st.AppointmentGet(t.Context(), b.clinic.ID, id); err != nil {
			t.Fatalf("%s not applied: %v", id, err)
		}
	}
	if _, err := b.st.AppointmentGet(t.Context(), b.clinic.ID, "A-CUT"); err == nil {
		t.Fatal("the broken frame was applied")
	}
	archived, err := b.st.InboundList(t.Context(), beckon.InboundFilter{ClinicID: b.clinic.ID})
	if err != nil {
		t.Fatal(err)
	}
	var dropped int
	for _, m := range archived {
		if bytes.Equal(m.Raw, cut[:len(cut)/2]) && m.Outcome == "" && strings.Contains(m.Detail, "cut short") {
			dropped++
		}
	}
	if dropped != 1 || len(archived) != 4 {
		t.Fatalf("archive: %d rows, %d of them the broken frame", len(archived), dropped)
	}
}
