package memstore_test

import (
	"testing"

	"github.com/authkit-go/authkit/internal/memtest"
	"github.com/authkit-go/authkit/oauth"
	"github.com/authkit-go/authkit/oauth/oauthtest"
)

func TestOAuthStates(t *testing.T) {
	oauthtest.RunStateStore(t, func(t *testing.T) oauth.StateStore { return memtest.New(t, nil).OAuthStates() })
}
