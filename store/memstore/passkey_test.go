package memstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/passkey"
	"github.com/authkit-go/authkit/passkey/passkeytest"
	"github.com/authkit-go/authkit/store/memstore"
)

func TestPasskeysConformance(t *testing.T) {
	passkeytest.Run(t, func(t *testing.T) passkey.CredentialStore { return memstore.NewPasskeys() })
}
