package rbac

import "strings"

// MaxNameLen is the longest resource, action or role name accepted, in bytes.
const MaxNameLen = 64

// Wildcard is the permission that grants every permission. Grant it only to
// break-glass administrator roles.
const Wildcard = "*"

// ValidatePermission reports whether s is a well-formed permission:
//
//	permission = "*" / resource ":" action
//	resource   = name
//	action     = name / "*"
//	name       = (a-z / 0-9) *(a-z / 0-9 / "_" / "-" / ".")   ; 1..64 bytes
//
// Names are lower-case ASCII only, so "Posts:read" and "posts:read" can never
// be two different permissions that look alike. A "*" is accepted only as the
// whole permission or the whole action: "posts:*" is valid, while "*:read",
// "post*:read" and "posts:re*" are not. "posts:*" covers exactly the
// permissions whose resource is "posts" ("posts:read", "posts:anything"),
// never "postsx:read".
//
// The error is a [*PermissionError] naming the first problem.
func ValidatePermission(s string) error {
	if reason := permissionProblem(s); reason != "" {
		return &PermissionError{Permission: truncate(s, 80), Reason: reason}
	}
	return nil
}

// permissionProblem returns "" for a valid permission, else a precise reason.
func permissionProblem(s string) string {
	if s == Wildcard {
		return ""
	}
	if s == "" {
		return "empty"
	}
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return `missing ":" between resource and action`
	}
	res, act := s[:i], s[i+1:]
	if strings.IndexByte(act, ':') >= 0 {
		return `more than one ":"`
	}
	if res == Wildcard {
		return `wildcard resource "*" is not supported (use "*" alone for every permission)`
	}
	if r := nameProblem(res); r != "" {
		return "resource " + r
	}
	if act == Wildcard {
		return ""
	}
	if r := nameProblem(act); r != "" {
		return "action " + r
	}
	return ""
}

// validPermission is the allocation-free form of ValidatePermission used on
// the check path.
func validPermission(s string) bool { return permissionProblem(s) == "" }

// nameProblem checks the name production shared by resources, actions and
// role names; it returns "" when valid.
func nameProblem(s string) string {
	if s == "" {
		return "is empty"
	}
	if len(s) > MaxNameLen {
		return "is longer than 64 bytes"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-' || c == '.') && i > 0:
		case c == '*':
			return `contains "*" (only a whole action or the whole permission may be "*")`
		case c >= 'A' && c <= 'Z':
			return "contains an upper-case letter (names are lower-case)"
		case c == '_' || c == '-' || c == '.':
			return "must start with a letter or digit"
		default:
			return "contains a character outside [a-z0-9_.-]"
		}
	}
	return ""
}

// resourceOf returns the resource part of a valid, non-"*" permission.
func resourceOf(p string) string {
	i := strings.IndexByte(p, ':')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// covers reports whether the granted permission g covers the requested
// permission q (both valid).
func covers(g, q string) bool {
	if g == Wildcard || g == q {
		return true
	}
	res, act, ok := strings.Cut(g, ":")
	if !ok || act != Wildcard || q == Wildcard {
		return false
	}
	return resourceOf(q) == res
}

// isResourceWildcard reports whether the valid permission p is "resource:*".
func isResourceWildcard(p string) bool {
	return len(p) > 2 && p[len(p)-2:] == ":*"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
