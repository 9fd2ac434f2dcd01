package session

import "errors"

var (
	// ErrNoSession is returned by [Manager] methods whose context carries no
	// session: the request did not pass through [Manager.LoadAndSave].
	ErrNoSession = errors.New("session: no session in context")
	// ErrNotFound is returned by [Manager.Revoke] when the session does not
	// exist or does not belong to the given user (the two are not told
	// apart, so a user cannot probe other users' session ids), or moved to
	// a new id while Revoke ran.
	ErrNotFound = errors.New("session: not found")
	// ErrHeadersWritten is returned when a session's token would change
	// (login, renewal, logout) after the response headers were sent, so the
	// new cookie could no longer reach the client.
	ErrHeadersWritten = errors.New("session: response headers already written")
	// ErrDestroyed is returned by writes to a session ended with
	// [Manager.Destroy] during the same request.
	ErrDestroyed = errors.New("session: destroyed")
	// ErrNotPending is returned by [Manager.CompleteMFA] when the session
	// has no MFA step pending.
	ErrNotPending = errors.New("session: no MFA step pending")
	// ErrNotSignedIn is returned by [Manager.RenewSignIn] when the session
	// has no fully signed-in user, or another user than the one named.
	ErrNotSignedIn = errors.New("session: not signed in as that user")
	// ErrInvalidConfig wraps every [New] configuration error.
	ErrInvalidConfig = errors.New("session: invalid config")
	// ErrRevoked is returned when the request's session was revoked
	// (logged out elsewhere, "log out everywhere", account disabled) while
	// the request was running: its changes were dropped and it is now
	// anonymous. The default [Config.ErrorFunc] answers 401.
	ErrRevoked = errors.New("session: revoked during the request")
	// ErrIDInUse is wrapped by [Store.Create] when the id is already
	// present.
	ErrIDInUse = errors.New("session: id already in use")
	// ErrReservedKey is returned by [Session.Put] for keys starting with
	// the reserved prefix "authkit.".
	ErrReservedKey = errors.New("session: reserved key")
)
