package jwttest

import (
	"context"
	"fmt"
	"time"

	"github.com/authkit-go/authkit/internal/suite"
	"github.com/authkit-go/authkit/jwt"
)

// stepUp is the SignIn of a re-authentication at t: different from facts
// in every field.
func stepUp(t time.Time) jwt.SignIn {
	return jwt.SignIn{AuthTime: t, AMR: []string{"pwd"}, ACR: "pwd", MFA: false}
}

func updateSignIn(ctx context.Context, s jwt.RefreshStore, u jwt.SignInUpdate, want bool) error {
	_, err := updateSignInRec(ctx, s, u, want)
	return err
}

func updateSignInRec(ctx context.Context, s jwt.RefreshStore, u jwt.SignInUpdate, want bool) (jwt.RefreshToken, error) {
	rec, found, err := s.UpdateSignIn(ctx, u)
	if err != nil {
		return rec, fmt.Errorf("store UpdateSignIn: %w", err)
	}
	if found != want {
		return rec, fmt.Errorf("store UpdateSignIn: found=%v, want %v", found, want)
	}
	return rec, nil
}

// updateSignInCases check [jwt.RefreshStore.UpdateSignIn].
var updateSignInCases = []suite.Case[env]{
	{Name: "UpdateSignInCarriedByRotation", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now.Add(-time.Hour))
		t.Expiry = now.Add(time.Hour)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		in := stepUp(now)
		rec, err := updateSignInRec(ctx, e.s, jwt.SignInUpdate{ID: t.ID, UserID: t.UserID, SignIn: in, Now: now}, true)
		if err != nil {
			return err
		}
		want := t
		want.SignIn = in
		if err := sameFamily(rec, want); err != nil {
			return fmt.Errorf("record returned by UpdateSignIn: %w", err)
		}
		if rec.ID != t.ID || !near(rec.Expiry, t.Expiry) || !near(rec.IssuedAt, t.IssuedAt) || !rec.UsedAt.IsZero() {
			return fmt.Errorf("record returned by UpdateSignIn %+v, want the token %q with expiry %v, unused", rec, t.ID, t.Expiry)
		}
		// The same token still rotates, once, and its successors carry
		// the new facts; the family's expiry did not move.
		id := t.ID
		for i := range 3 {
			res, err := rotate(ctx, e.s, rotation(id, now.Add(time.Duration(i+1)*time.Second), 0), jwt.Rotated)
			if err != nil {
				return fmt.Errorf("rotation %d after the update: %w", i+1, err)
			}
			if err := sameFamily(res.Token, want); err != nil {
				return fmt.Errorf("rotation %d after the update: %w", i+1, err)
			}
			id = res.Token.ID
		}
		// Reuse detection is intact: the updated token was rotated.
		if _, err := rotate(ctx, e.s, rotation(t.ID, now.Add(time.Minute), 0), jwt.RotateReused); err != nil {
			return fmt.Errorf("the updated token presented again: %w", err)
		}
		return nil
	}},
	{Name: "UpdateSignInRefusedForRevokedFamily", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		if _, found, err := e.s.RevokeToken(ctx, t.ID); err != nil || !found {
			return fmt.Errorf("store RevokeToken: found=%v err=%v", found, err)
		}
		if err := updateSignIn(ctx, e.s, jwt.SignInUpdate{ID: t.ID, UserID: t.UserID, SignIn: stepUp(now), Now: now}, false); err != nil {
			return fmt.Errorf("revoked family: %w", err)
		}
		_, err := rotate(ctx, e.s, rotation(t.ID, now, 0), jwt.RotateInvalid)
		return err
	}},
	{Name: "UpdateSignInRefusedForAnotherUser", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		// Another user of the same shard, and the empty user.
		for _, other := range []string{t.UserID + "x", ""} {
			if err := updateSignIn(ctx, e.s, jwt.SignInUpdate{ID: t.ID, UserID: other, SignIn: stepUp(now), Now: now}, false); err != nil {
				return fmt.Errorf("user %q: %w", other, err)
			}
		}
		res, err := rotate(ctx, e.s, rotation(t.ID, now, 0), jwt.Rotated)
		if err != nil {
			return err
		}
		return sameFamily(res.Token, t)
	}},
	{Name: "UpdateSignInRefusedForSpentOrExpiredToken", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now)
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		if err := updateSignIn(ctx, e.s, jwt.SignInUpdate{ID: t.ID, UserID: t.UserID, SignIn: stepUp(now), Now: t.Expiry}, false); err != nil {
			return fmt.Errorf("expired token: %w", err)
		}
		res, err := rotate(ctx, e.s, rotation(t.ID, now, 0), jwt.Rotated)
		if err != nil {
			return err
		}
		if err := updateSignIn(ctx, e.s, jwt.SignInUpdate{ID: t.ID, UserID: t.UserID, SignIn: stepUp(now), Now: now}, false); err != nil {
			return fmt.Errorf("rotated token: %w", err)
		}
		missing := idIn(jwt.RefreshShard(t.UserID))
		if err := updateSignIn(ctx, e.s, jwt.SignInUpdate{ID: missing, UserID: t.UserID, SignIn: stepUp(now), Now: now}, false); err != nil {
			return fmt.Errorf("unknown token: %w", err)
		}
		next, err := rotate(ctx, e.s, rotation(res.Token.ID, now.Add(time.Second), 0), jwt.Rotated)
		if err != nil {
			return err
		}
		return sameFamily(next.Token, t)
	}},
	{Name: "UpdateSignInRefusedBeforeNotBefore", Check: func(ctx context.Context, e env) error {
		now := e.now()
		t := first(rid("u-"), now.Add(-time.Minute))
		if err := create(ctx, e.s, t); err != nil {
			return err
		}
		// A "log out everywhere" after the re-authentication checked its
		// credentials (at now-1s) but before it is recorded.
		if err := e.s.SetNotBefore(ctx, t.UserID, now); err != nil {
			return fmt.Errorf("store SetNotBefore: %w", err)
		}
		return updateSignIn(ctx, e.s, jwt.SignInUpdate{ID: t.ID, UserID: t.UserID, SignIn: stepUp(now.Add(-2 * time.Second)), Now: now}, false)
	}},
}
