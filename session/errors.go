package session

import "errors"

var (
	// ErrNoSession is returned by [Manager] methods whose context carries no
	// session: the request did not pass through [Manager.LoadAndSave].
	ErrNoSession = errors.New("session: no session in context")
	// ErrNotFound is returned by [Manager.Revoke] when the session does not
	// exist or does not belong to the given user (the two are not told
	// apart, so a user cannot probe other users' session ids).
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
	// ErrInvalidConfig wraps every [New] configuration error.
	ErrInvalidConfig = errors.New("session: invalid config")
	// ErrReservedKey is returned by [Session.Put] for keys starting with
	// the reserved prefix "authkit.".
	ErrReservedKey = errors.New("session: reserved key")
)
