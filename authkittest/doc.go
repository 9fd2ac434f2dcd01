// Package authkittest holds conformance suites for the stores of the root
// package authkit, so that memstore, redisstore, sqlstore and a host
// application's own implementation are all checked by the same cases.
//
// Each suite comes as a pair, after testing/slogtest: RunX(t, newStore) runs
// one parallel subtest per case, and TestX(newStore) error returns the
// errors.Join of the failures (used by the suite's own tests to prove it
// rejects deliberately broken stores).
package authkittest
