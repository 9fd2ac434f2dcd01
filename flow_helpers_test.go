package authkit_test

import "github.com/authkit-go/authkit"

// lastMail sends the queued mails (as Auth.RunMailer would) and returns the
// last one delivered.
func (e *env) lastMail() authkit.Mail {
	e.t.Helper()
	e.auth.ProcessMail(e.t.Context())
	return e.mail.last()
}
