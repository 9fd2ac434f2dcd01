package session

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
)

var errResponseFailed = errors.New("session: response replaced by the error handler")

// writer wraps the handler's ResponseWriter so the session is saved and its
// cookie set before the first byte of the response. It keeps Flush, ReadFrom
// and Unwrap (so [http.ResponseController] reaches the underlying writer);
// hijackWriter adds Hijack only when the underlying writer has it.
type writer struct {
	http.ResponseWriter
	s           *Session
	r           *http.Request
	wroteHeader bool
	failed      bool
}

// commit saves the session once; on failure the error handler answers in
// place of the handler (fail closed) and later writes are dropped.
func (w *writer) commit() bool {
	if w.wroteHeader {
		return !w.failed
	}
	w.wroteHeader = true
	if err := w.s.m.commit(w.r.Context(), w.s, w.ResponseWriter.Header()); err != nil {
		w.failed = true
		w.s.m.errorFunc(w.ResponseWriter, w.r, err)
		return false
	}
	return true
}

// WriteHeader commits the session, then writes the status. Informational
// (1xx) statuses pass through without committing.
func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if !w.failed {
			w.ResponseWriter.WriteHeader(code)
		}
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session, then writes b.
func (w *writer) Write(b []byte) (int, error) {
	if !w.commit() {
		return 0, errResponseFailed
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom commits the session, then copies from src (keeping sendfile
// when the underlying writer supports it).
func (w *writer) ReadFrom(src io.Reader) (int64, error) {
	if !w.commit() {
		return 0, errResponseFailed
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// Flush commits the session, then flushes the underlying writer if it can.
func (w *writer) Flush() {
	if w.commit() {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// FlushError is Flush reporting the underlying writer's error, as
// [http.ResponseController.Flush] expects.
func (w *writer) FlushError() error {
	if !w.commit() {
		return errResponseFailed
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the underlying writer for [http.ResponseController].
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs after the handler returned: it commits if nothing was
// written, and saves changes made after the headers went out when the token
// did not change (otherwise they cannot reach the client).
func (w *writer) finish() {
	if !w.wroteHeader {
		w.commit()
		return
	}
	if w.failed {
		return
	}
	s, m := w.s, w.s.m
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.modified || s.destroyed {
		return
	}
	if s.id == "" || (s.newToken && !s.bearer) {
		m.errorFunc(nopWriter{}, w.r, ErrHeadersWritten)
		return
	}
	if err := m.saveLocked(w.r.Context(), s); err != nil {
		m.errorFunc(nopWriter{}, w.r, err)
	}
}

type hijackWriter struct{ *writer }

// Hijack commits the session (no cookie can be sent afterwards) and hands
// over the connection.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errResponseFailed
	}
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

// nopWriter is given to ErrorFunc after the response was already sent, so
// it can only log.
type nopWriter struct{}

func (nopWriter) Header() http.Header         { return http.Header{} }
func (nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (nopWriter) WriteHeader(int)             {}
