// Package browser drives the example server's browser UI with headless
// Chromium through chromedp: sign-up, login, TOTP enrollment, login with a
// code, session revocation and the cookie attributes a real browser stores.
package browser
