package links

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
)

// KeyName is the installation secret that signs links.
const KeyName = "links"

// SecretStore is what Keys needs of the store (beckon.LinkStore has it).
type SecretStore interface {
	InstallationSecret(ctx context.Context, name string, fresh []byte) ([]byte, error)
}

// Keys loads the installation's link signer from the store on first use:
// a key is generated (crypto/rand) and stored if there is none, and every
// process reads the one stored first. A failed load is tried again on the
// next use.
type Keys struct {
	Store SecretStore

	mu     sync.Mutex
	signer *Signer
}

// Signer returns the installation's signer.
func (k *Keys) Signer(ctx context.Context) (*Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.signer != nil {
		return k.signer, nil
	}
	fresh := make([]byte, KeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("links: generate key: %w", err)
	}
	key, err := k.Store.InstallationSecret(ctx, KeyName, fresh)
	if err != nil {
		return nil, fmt.Errorf("links: load key: %w", err)
	}
	s, err := NewSigner(key)
	if err != nil {
		return nil, err
	}
	k.signer = s
	return s, nil
}
