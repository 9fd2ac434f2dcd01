// Package oidcinterop drives authkit's oauth package end to end against an
// independently written OpenID provider (github.com/zitadel/oidc/v3's op
// package) running in process. It is a separate module so that the
// provider and its dependencies stay out of authkit's go.mod. The tests are
// the content: cd interop/oidc && go test ./...
package oidcinterop
