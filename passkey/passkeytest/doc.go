// Package passkeytest helps test passkey code without a browser.
//
// [Authenticator] is a pure-Go software authenticator (ES256, attestation
// "none") that answers the options of passkey.Passkeys' Begin calls the way
// a browser and platform authenticator would, with switches for the faults
// and quirks a server must handle: another origin or RP id, no user
// verification, backup flags, a static or rolled-back counter, a missing
// userHandle.
//
// [Run] and [Test] check an implementation of passkey.CredentialStore
// against its documented contract. A passkey.TicketStore is the one ticket
// store every authkit package shares; authkittest.RunTicketStore checks it.
package passkeytest
