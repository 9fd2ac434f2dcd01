package memstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
	"github.com/authkit-go/authkit/store/memstore"
)

func TestOAuthStates(t *testing.T) {
	oauthtest.RunStateStore(t, func(*testing.T) oauth.StateStore { return memstore.NewOAuthStates(nil) })
}
