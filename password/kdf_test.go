package password

import (
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// hashEvent is one hash computation seen by a probe.
type hashEvent struct {
	bcrypt bool
	cost   int    // bcrypt cost
	params Params // argon2id params (zero for bcrypt)
}

// probe is a kdf that runs stdKDF and records every computation, which the
// Hasher runs inside a hashing slot. start and end, when set, are called
// around each computation (start may block to hold the slot).
type probe struct {
	mu         sync.Mutex
	events     []hashEvent
	start, end func(hashEvent)
}

var _ kdf = (*probe)(nil)

func (c *probe) around(e hashEvent) func() {
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
	if c.start != nil {
		c.start(e)
	}
	return func() {
		if c.end != nil {
			c.end(e)
		}
	}
}

func (c *probe) argon2id(in, salt []byte, p Params) []byte {
	defer c.around(hashEvent{params: p})()
	return stdKDF{}.argon2id(in, salt, p)
}

func (c *probe) bcrypt(pw []byte, cost int, salt []byte) []byte {
	defer c.around(hashEvent{bcrypt: true, cost: cost})()
	return stdKDF{}.bcrypt(pw, cost, salt)
}

func (c *probe) bcryptCompare(hash, pw []byte) error {
	cost, _ := bcrypt.Cost(hash)
	defer c.around(hashEvent{bcrypt: true, cost: cost})()
	return stdKDF{}.bcryptCompare(hash, pw)
}

// take returns and clears the recorded computations.
func (c *probe) take() []hashEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.events
	c.events = nil
	return s
}
