package memstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/store/memstore"
)

// Example shows the in-memory stores: each type implements one store
// interface and keeps everything in the process.
func Example() {
	ctx := context.Background()
	users := memstore.NewUsers()
	if err := users.CreateUser(ctx, authkit.User{ID: "u1", Email: "ada@example.com", Roles: []string{"viewer"}}); err != nil {
		log.Fatal(err)
	}
	err := users.CreateUser(ctx, authkit.User{ID: "u2", Email: "ada@example.com"})
	fmt.Println(err)

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	attempts := memstore.NewAttempts(memstore.AttemptsConfig{Now: func() time.Time { return now }})
	n, end, _ := attempts.Incr(ctx, "login:ada@example.com", 15*time.Minute)
	fmt.Println(n, end.Format(time.TimeOnly))
	// Output:
	// authkit: login already taken
	// 1 00:15:00
}
