package main

import (
	"encoding/json"
	"net/http"

	"github.com/authkit-go/authkit/middleware"
)

// reports is the host's API handler behind the "reports:read" permission.
func reports(w http.ResponseWriter, r *http.Request) {
	p, _ := middleware.FromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"user": p.Subject, "reports": []string{}})
}
