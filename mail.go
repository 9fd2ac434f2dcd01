package authkit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Defaults of the mail queue (Config.MailQueue, MailAttempts,
// MailRetryDelay).
const (
	defaultMailQueue      = 1000
	defaultMailAttempts   = 3
	defaultMailRetryDelay = 30 * time.Second
)

// mailJob is one queued reset or verification mail.
type mailJob struct {
	purpose string
	login   string // reset: the canonical address asked for
	userID  string // verification: the account
	client  Client // for the audit events

	// Set when the token has been stored, for the retries.
	user   User
	token  string
	expiry time.Time
	tries  int
	due    time.Time
}

// mailQueue is a bounded FIFO of mail jobs. It owns no goroutine: the host
// runs [Auth.RunMailer] (or calls [Auth.ProcessMail]).
type mailQueue struct {
	mu       sync.Mutex
	jobs     []mailJob
	max      int
	attempts int
	delay    time.Duration
	wake     chan struct{}
}

func newMailQueue(cfg Config) (*mailQueue, error) {
	q := &mailQueue{max: cfg.MailQueue, attempts: cfg.MailAttempts, delay: cfg.MailRetryDelay, wake: make(chan struct{}, 1)}
	if q.max == 0 {
		q.max = defaultMailQueue
	}
	if q.attempts == 0 {
		q.attempts = defaultMailAttempts
	}
	if q.delay == 0 {
		q.delay = defaultMailRetryDelay
	}
	if q.max < 1 || q.attempts < 1 || q.attempts > 10 || q.delay < 0 {
		return nil, errors.New("authkit: Config.MailQueue must be positive, MailAttempts 1..10, MailRetryDelay positive")
	}
	return q, nil
}

// push queues j, or answers ErrBusy when the queue is full.
func (q *mailQueue) push(j mailJob) error {
	q.mu.Lock()
	if len(q.jobs) >= q.max {
		q.mu.Unlock()
		return fmt.Errorf("%w: mail queue full", ErrBusy)
	}
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// due removes and returns the jobs due at now.
func (q *mailQueue) takeDue(now time.Time) []mailJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	var due []mailJob
	keep := q.jobs[:0]
	for _, j := range q.jobs {
		if j.due.After(now) {
			keep = append(keep, j)
		} else {
			due = append(due, j)
		}
	}
	clear(q.jobs[len(keep):])
	q.jobs = keep
	return due
}

// retry puts j back unless it has used its attempts; it reports whether it
// did.
func (q *mailQueue) retry(j mailJob, now time.Time) bool {
	if j.tries >= q.attempts {
		return false
	}
	j.due = now.Add(q.delay << (j.tries - 1))
	q.mu.Lock()
	q.jobs = append(q.jobs, j) // retries may exceed max briefly: they were admitted before
	q.mu.Unlock()
	return true
}

// RunMailer sends the queued reset and verification mails until ctx ends,
// retrying a failed mail Config.MailAttempts times with a doubling delay.
// The host runs it in a goroutine of its own (authkit starts none):
//
//	go auth.RunMailer(ctx)
//
// Without it no reset or verification mail is ever sent. The queue is in
// memory: mails still queued when the process stops are lost, and the user
// asks again. It returns
// ctx.Err(), or [ErrNotSupported] at once when Config.Tickets is
// unset.
func (a *Auth) RunMailer(ctx context.Context) error {
	if a.cfg.Tickets == nil {
		return ErrNotSupported
	}
	tick := time.NewTicker(time.Second) // for retries that come due
	defer tick.Stop()
	for {
		a.ProcessMail(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.mail.wake:
		case <-tick.C:
		}
	}
}

// ProcessMail handles every queued mail that is due now, once, and returns
// how many it handled. [Auth.RunMailer] calls it; hosts that prefer a
// scheduler of their own (and tests) may call it directly.
func (a *Auth) ProcessMail(ctx context.Context) int {
	jobs := a.mail.takeDue(a.cfg.Now())
	for _, j := range jobs {
		a.sendMail(ctx, j)
	}
	return len(jobs)
}

// sendMail looks the account up, stores a token (on the first try) and
// hands the mail to the Mailer. An unknown, disabled or (for verification)
// already verified account gets no mail.
func (a *Auth) sendMail(ctx context.Context, j mailJob) {
	if j.token == "" {
		u, found, err := a.mailUser(ctx, j)
		if err == nil && !found {
			return
		}
		if err == nil {
			j.user = u
			err = a.saveToken(ctx, &j)
		}
		if err != nil {
			j.tries++
			a.mailFailed(ctx, j, err)
			return
		}
	}
	j.tries++
	err := a.cfg.Mailer.Send(ctx, Mail{To: j.user.Email, Purpose: j.purpose, Token: j.token, Expiry: j.expiry})
	if err != nil {
		a.mailFailed(ctx, j, err)
		return
	}
	a.emit(ctx, EventMailSent, OutcomeSuccess, j.purpose, j.client, j.user.ID, j.user.Email)
}

func (a *Auth) mailFailed(ctx context.Context, j mailJob, err error) {
	if a.mail.retry(j, a.cfg.Now()) {
		return
	}
	_ = err // the Mailer's error may hold the token; it is not logged
	uid, login := j.user.ID, j.user.Email
	if uid == "" { // the account was never read
		uid, login = j.userID, j.login
	}
	a.emit(ctx, EventMailFailed, OutcomeFailure, j.purpose, j.client, uid, login)
}

func (a *Auth) mailUser(ctx context.Context, j mailJob) (u User, found bool, err error) {
	err = a.store(ctx, func(ctx context.Context) (err error) {
		if j.purpose == PurposePasswordReset {
			u, found, err = a.cfg.Users.UserByLogin(ctx, j.login)
		} else {
			u, found, err = a.cfg.Users.UserByID(ctx, j.userID)
		}
		return err
	})
	if err != nil || !found || u.Disabled || (j.purpose == PurposeVerifyEmail && u.EmailVerified) {
		return User{}, false, err
	}
	return u, true, nil
}

func (a *Auth) saveToken(ctx context.Context, j *mailJob) error {
	tok, err := a.randomHex(32)
	if err != nil {
		return err
	}
	if j.purpose == PurposePasswordReset {
		tok += "." + resetStamp(j.user.PasswordHash)
	}
	exp := a.cfg.Now().Add(a.cfg.ResetLifetime)
	data, err := oneTimeToken{UserID: j.user.ID, Email: j.user.Email, Expiry: exp}.encode()
	if err != nil {
		return err
	}
	if err := a.store(ctx, func(ctx context.Context) error {
		return a.cfg.Tickets.Put(ctx, j.purpose, tokenHash(tok), data, exp)
	}); err != nil {
		return err
	}
	j.token, j.expiry = tok, exp
	return nil
}

// Mailer delivers password-reset and email-verification links. The host
// implements it over its mail system; Token must reach only the mailbox.
type Mailer interface {
	// Send delivers one mail. It runs off the request path, in
	// [Auth.RunMailer]; an error makes the mail be retried
	// (Config.MailAttempts).
	Send(ctx context.Context, m Mail) error
}

// Mail is one message for a [Mailer].
type Mail struct {
	To      string // the account's email address
	Purpose string // PurposePasswordReset or PurposeVerifyEmail
	Token   string // the single-use token to put in the link
	Expiry  time.Time
}
