package memstore_test

import (
	"testing"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/authkittest"
	"github.com/authkit-go/authkit/store/memstore"
)

func TestUsersConformance(t *testing.T) {
	authkittest.RunUserStore(t, func(*testing.T) authkit.UserStore { return memstore.NewUsers() })
}
