package scheduler

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
)

// sendIDEncoding is base32 with a lowercase alphabet and no padding.
var sendIDEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// sendIDDomain separates send ids from any other hash of the same fields.
const sendIDDomain = "beckon.send.v1"

// SendID is the stable id of a send: "snd_" followed by 26 lowercase base32
// characters (no padding) of the first 128 bits of a SHA-256 over the clinic,
// appointment, appointment version, campaign, campaign revision and step.
//
// Every string is written with its length before it and every integer as eight
// big-endian bytes, so no two different inputs share an encoding: ("ab", "c")
// and ("a", "bc") give different ids. The id doubles as the asynq TaskID
// (DESIGN.md promise 2), so the encoding must never change for existing sends.
func SendID(clinicID, appointmentID string, version int64, campaignID string, revision int64, stepID string) string {
	h := sha256.New()
	var buf [8]byte
	writeString := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	writeInt := func(n int64) {
		binary.BigEndian.PutUint64(buf[:], uint64(n))
		h.Write(buf[:])
	}
	writeString(sendIDDomain)
	writeString(clinicID)
	writeString(appointmentID)
	writeInt(version)
	writeString(campaignID)
	writeInt(revision)
	writeString(stepID)

	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var out [4 + 26]byte
	copy(out[:], "snd_")
	sendIDEncoding.Encode(out[4:], sum[:16])
	return string(out[:])
}
