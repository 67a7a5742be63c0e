// Package sealed encrypts the secrets Beckon keeps in its database (provider
// tokens and keys, FHIR authorization, webhook signing secrets, the email
// links' signing key) with AES-256-GCM from the standard library.
//
// A sealed value is text: "enc:v1:KID:BASE64", where KID names the key that
// sealed it (8 hex digits of a SHA-256 of the key, so it reveals nothing of
// the key and needs no configuration) and BASE64 is the 12-byte nonce followed
// by the ciphertext and tag. A Keyring seals with its current key and opens
// with the current key or any old one, so keys rotate: make the new key
// current, keep the old one among the old keys until every value is sealed
// again (the store's rotation), then drop it.
//
// Each value is sealed for a place (its table, column and row, "where"), bound
// as additional data: a sealed value copied into another row or column does
// not open there.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Prefix starts every sealed value; Prefix+KID+":" starts every value a key
// sealed.
const Prefix = "enc:v1:"

// KeySize is the length of a key: 32 bytes, AES-256.
const KeySize = 32

// ErrUnknownKey is returned when a value was sealed with a key the Keyring
// does not hold.
var ErrUnknownKey = errors.New("sealed: the value was sealed with a key that is not configured")

// ErrOpen is returned when a value does not open: a wrong key with the same
// id (practically impossible), a value altered in the database, or one copied
// from another row.
var ErrOpen = errors.New("sealed: the value does not open (altered, moved from another row, or a wrong key)")

// key is one AES-GCM key and its id.
type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring seals with its current key and opens with any of its keys. It is
// safe for concurrent use.
type Keyring struct {
	current key
	byID    map[string]key
}

// ParseKey decodes a key given as base64 (standard or URL alphabet, padded or
// not) of exactly 32 bytes. Its errors never hold the text.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(text)
		if err != nil {
			continue
		}
		if len(b) != KeySize {
			return nil, fmt.Errorf("sealed: a key is %d bytes of base64, this one is %d bytes", KeySize, len(b))
		}
		return b, nil
	}
	return nil, fmt.Errorf("sealed: a key is the base64 of %d random bytes (openssl rand -base64 32); this is not base64", KeySize)
}

// NewKey returns a new random key as base64, the form ParseKey reads.
func NewKey() string {
	b := make([]byte, KeySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(b)
}

// NewKeyring returns a Keyring sealing with current and opening with current
// and every old key. Each key is KeySize bytes.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	cur, err := newKey(current)
	if err != nil {
		return nil, err
	}
	k := &Keyring{current: cur, byID: map[string]key{cur.id: cur}}
	for _, o := range old {
		ok, err := newKey(o)
		if err != nil {
			return nil, err
		}
		if _, dup := k.byID[ok.id]; !dup {
			k.byID[ok.id] = ok
		}
	}
	return k, nil
}

func newKey(b []byte) (key, error) {
	if len(b) != KeySize {
		return key{}, fmt.Errorf("sealed: a key is %d bytes, not %d", KeySize, len(b))
	}
	block, err := aes.NewCipher(b)
	if err != nil {
		return key{}, fmt.Errorf("sealed: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return key{}, fmt.Errorf("sealed: %w", err)
	}
	return key{id: KeyID(b), aead: aead}, nil
}

// KeyID is the id of a key: 8 hex digits of a SHA-256 of it.
func KeyID(b []byte) string {
	h := sha256.Sum256(append([]byte("beckon sealed key id\x00"), b...))
	return hex.EncodeToString(h[:4])
}

// CurrentID is the id of the key Seal uses.
func (k *Keyring) CurrentID() string { return k.current.id }

// Knows reports whether the keyring holds the key with this id.
func (k *Keyring) Knows(id string) bool {
	_, ok := k.byID[id]
	return ok
}

// IDs is the id of every key, the current one first.
func (k *Keyring) IDs() []string {
	var old []string
	for id := range k.byID {
		if id != k.current.id {
			old = append(old, id)
		}
	}
	slices.Sort(old)
	return append([]string{k.current.id}, old...)
}

// Seal encrypts plaintext for the place where with the current key. The
// empty string stays empty: it means "not set" and hides nothing.
func (k *Keyring) Seal(where, plaintext string) string {
	if plaintext == "" {
		return ""
	}
	aead := k.current.aead
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(out)
	out = aead.Seal(out, out, []byte(plaintext), []byte(where))
	return Prefix + k.current.id + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts a value Seal returned for the same place. A value that is
// not sealed (a row written before secrets were sealed) is returned as it
// is. Errors wrap ErrUnknownKey or ErrOpen and name the key id, never the
// value.
func (k *Keyring) Open(where, stored string) (string, error) {
	id, body, ok := Parse(stored)
	if !ok {
		return stored, nil
	}
	key, found := k.byID[id]
	if !found {
		return "", fmt.Errorf("%w (key id %s; configured: %s)", ErrUnknownKey, id, strings.Join(k.IDs(), ", "))
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	n := key.aead.NonceSize()
	if err != nil || len(raw) < n+key.aead.Overhead() {
		return "", fmt.Errorf("%w (key id %s: malformed)", ErrOpen, id)
	}
	plain, err := key.aead.Open(nil, raw[:n], raw[n:], []byte(where))
	if err != nil {
		return "", fmt.Errorf("%w (key id %s)", ErrOpen, id)
	}
	return string(plain), nil
}

// Parse splits a sealed value into its key id and body (empty when the
// value is cut short); ok is false for a value that is not sealed.
func Parse(stored string) (id, body string, ok bool) {
	rest, found := strings.CutPrefix(stored, Prefix)
	if !found {
		return "", "", false
	}
	id, body, _ = strings.Cut(rest, ":")
	return id, body, true
}

// IsSealed reports whether stored is a sealed value.
func IsSealed(stored string) bool { return strings.HasPrefix(stored, Prefix) }
