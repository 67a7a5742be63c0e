package sendgrid

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Vectors published with the SDK (helpers/eventwebhook/eventwebhook_test.go, v3.16.1).
const (
	vecKey       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	vecSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	vecTimestamp = "1600112502"
)

func vecPayload() []byte {
	buf := &bytes.Buffer{}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode([]map[string]any{{
		"email":         "hello@world.com",
		"event":         "dropped",
		"reason":        "Bounced Address",
		"sg_event_id":   "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
		"sg_message_id": "LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0",
		"smtp-id":       "<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>",
		"timestamp":     1600112492,
	}})
	p := buf.Bytes()
	return append(p[:len(p)-1], '\r', '\n')
}

func TestVerifyEvents(t *testing.T) {
	t.Parallel()
	key, err := ParsePublicKey(vecKey)
	if err != nil {
		t.Fatal(err)
	}
	signedAt := time.Unix(1600112502, 0)
	payload := vecPayload()
	tampered := bytes.Replace(payload, []byte("dropped"), []byte("delivered"), 1)
	noCRLF := payload[:len(payload)-2]

	for _, tc := range []struct {
		name    string
		sig, ts string
		body    []byte
		now     time.Time
		window  time.Duration
		want    error // nil, ErrStale or ErrBadSignature
	}{
		{"sdk vector", vecSignature, vecTimestamp, payload, signedAt.Add(30 * time.Second), 5 * time.Minute, nil},
		{"default window", vecSignature, vecTimestamp, payload, signedAt.Add(9 * time.Minute), 0, nil},
		{"clock behind", vecSignature, vecTimestamp, payload, signedAt.Add(-time.Minute), 5 * time.Minute, nil},
		{"tampered body", vecSignature, vecTimestamp, tampered, signedAt, 5 * time.Minute, ErrBadSignature},
		{"body without CRLF", vecSignature, vecTimestamp, noCRLF, signedAt, 5 * time.Minute, ErrBadSignature},
		{"other timestamp", vecSignature, "1600112503", payload, signedAt, 5 * time.Minute, ErrBadSignature},
		{"garbage signature", vecSignature + "x", vecTimestamp, payload, signedAt, 5 * time.Minute, ErrBadSignature},
		{"not asn1", base64.StdEncoding.EncodeToString([]byte("nope")), vecTimestamp, payload, signedAt, 5 * time.Minute, ErrBadSignature},
		{"empty signature", "", vecTimestamp, payload, signedAt, 5 * time.Minute, ErrBadSignature},
		{"bad timestamp", vecSignature, "yesterday", payload, signedAt, 5 * time.Minute, ErrBadSignature},
		{"old (replay)", vecSignature, vecTimestamp, payload, signedAt.Add(6 * time.Minute), 5 * time.Minute, ErrStale},
		{"old, default window", vecSignature, vecTimestamp, payload, signedAt.Add(11 * time.Minute), 0, ErrStale},
		{"from the future", vecSignature, vecTimestamp, payload, signedAt.Add(-6 * time.Minute), 5 * time.Minute, ErrStale},
	} {
		err := VerifyEvents(key, tc.sig, tc.ts, tc.body, tc.now, tc.window)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := VerifyEvents(nil, vecSignature, vecTimestamp, payload, signedAt, time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Errorf("nil key: %v", err)
	}
}

func TestParsePublicKey(t *testing.T) {
	t.Parallel()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	der := func(k any) string {
		b, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	for name, in := range map[string]string{
		"rsa":        der(&rsaKey.PublicKey),
		"ed25519":    der(edPub),
		"x25519":     der(x.PublicKey()),
		"not base64": "%%%",
		"corrupt":    vecKey[:40] + "AAAA",
		"empty":      "",
	} {
		k, err := ParsePublicKey(in) // must not panic
		if err == nil || k != nil {
			t.Errorf("%s: key %v, err %v", name, k, err)
		}
	}
	if _, err := ParsePublicKey(" " + vecKey + "\n"); err != nil {
		t.Errorf("sdk key with spaces: %v", err)
	}
}
