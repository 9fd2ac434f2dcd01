package authkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DeviceCookie is the name of the cookie that carries a device token (see
// [Auth.IssueDeviceToken]). It goes only to /auth, on same-site requests.
const DeviceCookie = "device_token"

// DeviceToken is a signed statement that a client signed in successfully
// as one login name (OWASP "Slow Down Online Guessing Attacks with Device
// Cookies"). A login attempt for that name carrying it is exempt from the
// lockout tiers and the per-IP budget and has a failure budget of its own
// ([LockoutConfig.DeviceMaxFailures]), so an attacker cannot lock a user
// out of a device the user already used.
type DeviceToken struct {
	Value  string // the token, for the device cookie
	Expiry time.Time
}

const (
	deviceTokenPrefix = "dv1."
	maxDeviceToken    = 512
	deviceMACContext  = "authkit device token v1\x00"
)

// IssueDeviceToken returns a new device token for u's login name, valid for
// [LockoutConfig.DeviceLifetime]. Call it after every complete interactive
// sign-in ([Auth.Login] does so itself when no second factor is due; after
// [Auth.VerifyMFA] or an external provider's sign-in the caller does) and
// store it with [SetDeviceCookie]. It is signed with Config.DeviceKey.
func (a *Auth) IssueDeviceToken(u User) (DeviceToken, error) {
	id, err := a.randomHex(16)
	if err != nil {
		return DeviceToken{}, err
	}
	exp := a.cfg.Now().Add(a.lockout.deviceLife).Truncate(time.Second)
	payload := deviceTokenPrefix + id + "." + strconv.FormatInt(exp.Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(u.Email))
	return DeviceToken{Value: payload + "." + base64.RawURLEncoding.EncodeToString(a.deviceMAC(payload)), Expiry: exp}, nil
}

func (a *Auth) deviceMAC(payload string) []byte {
	m := hmac.New(sha256.New, a.cfg.DeviceKey)
	m.Write([]byte(deviceMACContext))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// deviceID returns the id of tok when it is a device token this Auth
// signed for login and it has not expired, and "" otherwise.
func (a *Auth) deviceID(tok, login string) string {
	if tok == "" || login == "" || len(tok) > maxDeviceToken || !strings.HasPrefix(tok, deviceTokenPrefix) {
		return ""
	}
	dot := strings.LastIndexByte(tok, '.')
	payload, sig := tok[:dot], tok[dot+1:]
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, a.deviceMAC(payload)) {
		return ""
	}
	parts := strings.Split(strings.TrimPrefix(payload, deviceTokenPrefix), ".")
	if len(parts) != 3 {
		return ""
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !a.cfg.Now().Before(time.Unix(exp, 0)) {
		return ""
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(name, []byte(login)) {
		return ""
	}
	return parts[0]
}

// SetDeviceCookie stores d in the [DeviceCookie]: HttpOnly, Secure,
// SameSite=Strict, Path=/auth, until d expires.
func SetDeviceCookie(w http.ResponseWriter, d DeviceToken, now time.Time) {
	setDeviceCookie(w, d, now, DefaultPrefix)
}

// setDeviceCookie sets the device cookie for handlers served at prefix.
func setDeviceCookie(w http.ResponseWriter, d DeviceToken, now time.Time, prefix string) {
	if d.Value == "" {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: d.Value, Path: prefix, MaxAge: maxAge(d.Expiry, now),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// DeviceTokenOf returns the device token r carries in the [DeviceCookie],
// or "". It is not verified here: [Auth.Login] does that.
func DeviceTokenOf(r *http.Request) string {
	c, err := r.Cookie(DeviceCookie)
	if err != nil || len(c.Value) > maxDeviceToken {
		return ""
	}
	return c.Value
}
