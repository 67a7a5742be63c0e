package sealed_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/beckonhealth/beckon/sealed"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	b, err := sealed.ParseKey(sealed.NewKey())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyring(t *testing.T, current []byte, old ...[]byte) *sealed.Keyring {
	t.Helper()
	k, err := sealed.NewKeyring(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpensAtItsPlaceOnly(t *testing.T) {
	k := keyring(t, newKey(t))
	const where, secret = "channel_settings.twilio_auth_token:cln_1", "tok-very-secret"
	a, b := k.Seal(where, secret), k.Seal(where, secret)
	if a == b {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	for _, s := range []string{a, b} {
		if strings.Contains(s, secret) || !strings.HasPrefix(s, sealed.Prefix+k.CurrentID()+":") {
			t.Errorf("sealed value %q: want %s%s:… without the plaintext", s, sealed.Prefix, k.CurrentID())
		}
		got, err := k.Open(where, s)
		if err != nil || got != secret {
			t.Errorf("Open = %q, %v; want the secret", got, err)
		}
	}
	if _, err := k.Open("channel_settings.twilio_auth_token:cln_2", a); !errors.Is(err, sealed.ErrOpen) {
		t.Errorf("opened in another row: err %v, want ErrOpen", err)
	}
}

func TestOpenRefusesAlteredValues(t *testing.T) {
	k := keyring(t, newKey(t))
	s := k.Seal("w", "secret")
	id, body, _ := sealed.Parse(s)
	raw, _ := base64.RawStdEncoding.DecodeString(body)
	raw[len(raw)-1] ^= 1
	for name, v := range map[string]string{
		"flipped bit": sealed.Prefix + id + ":" + base64.RawStdEncoding.EncodeToString(raw),
		"truncated":   sealed.Prefix + id + ":AAAA",
		"not base64":  sealed.Prefix + id + ":!!!",
		"no body":     sealed.Prefix + id,
	} {
		got, err := k.Open("w", v)
		if !errors.Is(err, sealed.ErrOpen) || got != "" {
			t.Errorf("%s: Open = %q, %v; want ErrOpen and nothing", name, got, err)
		}
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKeyB := newKey(t), newKey(t)
	before := keyring(t, oldKey)
	s := before.Seal("w", "secret")

	after := keyring(t, newKeyB, oldKey)
	if got, err := after.Open("w", s); err != nil || got != "secret" {
		t.Fatalf("the old key no longer opens through the new keyring: %q, %v", got, err)
	}
	resealed := after.Seal("w", "secret")
	if id, _, _ := sealed.Parse(resealed); id != sealed.KeyID(newKeyB) || id == sealed.KeyID(oldKey) {
		t.Errorf("resealed with key %s, want the new key %s", id, sealed.KeyID(newKeyB))
	}

	// Without the old key: a clear error naming the key, not garbage.
	only := keyring(t, newKeyB)
	got, err := only.Open("w", s)
	if !errors.Is(err, sealed.ErrUnknownKey) || got != "" {
		t.Fatalf("Open with the key missing = %q, %v; want ErrUnknownKey", got, err)
	}
	if !strings.Contains(err.Error(), sealed.KeyID(oldKey)) {
		t.Errorf("error %q does not name the missing key id %s", err, sealed.KeyID(oldKey))
	}
}

func TestPlaintextAndEmptyPassThrough(t *testing.T) {
	k := keyring(t, newKey(t))
	if got := k.Seal("w", ""); got != "" {
		t.Errorf("Seal of nothing = %q, want nothing", got)
	}
	for _, v := range []string{"", "legacy-token"} {
		if got, err := k.Open("w", v); err != nil || got != v {
			t.Errorf("Open(%q) = %q, %v; want it unchanged", v, got, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	good := sealed.NewKey()
	b, err := sealed.ParseKey(good + "\n")
	if err != nil || len(b) != sealed.KeySize {
		t.Fatalf("ParseKey(NewKey()) = %d bytes, %v", len(b), err)
	}
	url := base64.RawURLEncoding.EncodeToString(b)
	if b2, err := sealed.ParseKey(url); err != nil || string(b2) != string(b) {
		t.Errorf("the URL alphabet without padding is refused: %v", err)
	}
	for _, bad := range []string{"short-but-secret", base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))} {
		_, err := sealed.ParseKey(bad)
		if err == nil {
			t.Errorf("ParseKey accepted a bad key")
			continue
		}
		if strings.Contains(err.Error(), bad) {
			t.Errorf("error %q echoes the key", err)
		}
	}
	if _, err := sealed.NewKeyring(b[:16]); err == nil {
		t.Error("NewKeyring accepted a 16-byte key")
	}
}

func TestKeyIDsAreStableAndDistinct(t *testing.T) {
	a, b := newKey(t), newKey(t)
	if sealed.KeyID(a) != sealed.KeyID(a) || sealed.KeyID(a) == sealed.KeyID(b) || len(sealed.KeyID(a)) != 8 {
		t.Errorf("KeyID: %s %s", sealed.KeyID(a), sealed.KeyID(b))
	}
	k := keyring(t, a, b, a)
	if ids := k.IDs(); len(ids) != 2 || ids[0] != sealed.KeyID(a) || !k.Knows(sealed.KeyID(b)) {
		t.Errorf("IDs = %v", ids)
	}
}
