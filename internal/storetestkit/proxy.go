package storetestkit

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards loopback connections to a server and lets a test break
// the network between a store and its server: [Proxy.Cut] resets every
// connection and refuses new ones; [Proxy.Stall] stops forwarding
// (connections stay open, new ones are accepted but not forwarded);
// [Proxy.Blackhole] resets every connection, then accepts new ones and
// never answers; [Proxy.DropNextReply] closes the connection that carries
// the server's next reply; [Proxy.Restore] forwards again.
type Proxy struct {
	ln        net.Listener
	target    string
	wg        sync.WaitGroup
	dropReply atomic.Bool

	mu      sync.Mutex
	cond    *sync.Cond
	cut     bool
	stalled bool
	conns   map[net.Conn]bool // open connections, both sides
}

// NewProxy starts a Proxy to target; it is cut and closed when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// track registers c unless the proxy is cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *Proxy) drop(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		c.Close()
		delete(p.conns, c)
	}
	p.cond.Broadcast()
}

// flowing waits while the proxy is stalled; it reports false once c has
// been dropped.
func (p *Proxy) flowing(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled && p.conns[c] {
		p.cond.Wait()
	}
	return p.conns[c]
}

func (p *Proxy) serve(c net.Conn) {
	if !p.flowing(c) {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(up) {
		if up != nil {
			up.Close()
		}
		p.drop(c)
		return
	}
	pipe := func(dst, src net.Conn, replies bool) {
		defer p.drop(dst, src)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if !p.flowing(src) {
					return
				}
				if replies && p.dropReply.CompareAndSwap(true, false) {
					return // the reply is lost with the connection
				}
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	p.wg.Go(func() { pipe(up, c, false) })
	pipe(c, up, true)
}

// closeAll closes every connection; p.mu is held.
func (p *Proxy) closeAll() {
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.cond.Broadcast()
}

// Cut resets every connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.closeAll()
}

// Stall stops forwarding until Restore, keeping connections open.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

// Blackhole resets every connection, then accepts new ones but forwards
// nothing until Restore.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
	p.closeAll()
}

// DropNextReply closes the connection that carries the next bytes from
// the server, after the server has received (and run) what it answers.
func (p *Proxy) DropNextReply() { p.dropReply.Store(true) }

// Restore forwards again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut, p.stalled = false, false
	p.cond.Broadcast()
}
