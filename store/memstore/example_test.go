package memstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/authkit-go/authkit"
	"github.com/authkit-go/authkit/store/memstore"
)

// Example shows the in-memory stores: one Store whose accessors each
// implement one store contract and keep everything in the process.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st, err := memstore.New(memstore.Config{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	users := st.Users()
	if err := users.CreateUser(ctx, authkit.User{ID: "u1", Email: "ada@example.com", Roles: []string{"viewer"}}); err != nil {
		log.Fatal(err)
	}
	err = users.CreateUser(ctx, authkit.User{ID: "u2", Email: "ada@example.com"})
	fmt.Println(err)

	attempts := st.Attempts()
	n, end, _ := attempts.Incr(ctx, "login:ada@example.com", 15*time.Minute)
	fmt.Println(n, end.Format(time.TimeOnly))
	// Output:
	// authkit: login already taken
	// 1 00:15:00
}
