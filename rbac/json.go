package rbac

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxJSONSize is the largest policy document [ParseJSON] accepts, in bytes.
const MaxJSONSize = 1 << 20

// ParseJSON parses a policy document into a [Config] (roles only: attach
// object rules in code, then call [New], which does the semantic checks).
// The format is
//
//	{"roles": [
//	  {"name": "viewer", "permissions": ["posts:read"]},
//	  {"name": "editor", "inherits": ["viewer"], "permissions": ["posts:write", "comments:*"]},
//	  {"name": "admin", "inherits": ["editor"], "permissions": ["*"], "description": "break glass"}
//	]}
//
// Parsing is strict, because a silently misread policy grants the wrong
// access: unknown fields (such as a misspelt "inherit"), duplicate keys in
// one object (which encoding/json would resolve silently to the last),
// wrong types, null, trailing data and documents over [MaxJSONSize] are
// errors, and so is a document without "roles". Every error satisfies errors.Is(err, ErrInvalidConfig) and names
// the JSON path, e.g. `roles[2].inherits[0]: want a string`.
func ParseJSON(data []byte) (Config, error) {
	if len(data) > MaxJSONSize {
		return Config{}, jsonErr("", fmt.Sprintf("document is %d bytes, over the limit of %d", len(data), MaxJSONSize), nil)
	}
	d := &jsonParser{dec: json.NewDecoder(bytes.NewReader(data))}
	var cfg Config
	hasRoles := false
	err := d.object("", func(key, path string) error {
		switch key {
		case "roles":
			hasRoles = true
			cfg.Roles = []Role{}
			return d.array(path, func(i int, path string) error {
				if i >= MaxRoles {
					return jsonErr(path, fmt.Sprintf("more than %d roles", MaxRoles), nil)
				}
				r, err := d.role(path)
				cfg.Roles = append(cfg.Roles, r)
				return err
			})
		default:
			return jsonErr(path, "unknown field", nil)
		}
	})
	if err != nil {
		return Config{}, err
	}
	if !hasRoles {
		return Config{}, jsonErr("", `missing "roles" (use [] for a policy that denies everything)`, nil)
	}
	if _, err := d.dec.Token(); err != io.EOF {
		return Config{}, jsonErr("", "trailing data after the policy object", nil)
	}
	return cfg, nil
}

func jsonErr(path, msg string, cause error) error {
	if path != "" {
		msg = path + ": " + msg
	}
	return &PolicyError{Msg: "json: " + msg, Err: cause}
}

type jsonParser struct{ dec *json.Decoder }

// token reads the next token; syntax errors are reported at path.
func (d *jsonParser) token(path string) (json.Token, error) {
	t, err := d.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, jsonErr(path, "unexpected end of document", nil)
		}
		return nil, jsonErr(path, "syntax error", err)
	}
	return t, nil
}

// object reads an object, calling field for each key (duplicates rejected).
func (d *jsonParser) object(path string, field func(key, path string) error) error {
	t, err := d.token(path)
	if err != nil {
		return err
	}
	if t != json.Delim('{') {
		return jsonErr(path, "want an object", nil)
	}
	seen := map[string]bool{}
	for d.dec.More() {
		t, err := d.token(path)
		if err != nil {
			return err
		}
		key, _ := t.(string)
		kp := key
		if path != "" {
			kp = path + "." + key
		}
		if seen[key] {
			return jsonErr(kp, "duplicate key", nil)
		}
		seen[key] = true
		if err := field(key, kp); err != nil {
			return err
		}
	}
	_, err = d.token(path) // '}'
	return err
}

// array reads an array, calling elem for each element.
func (d *jsonParser) array(path string, elem func(i int, path string) error) error {
	t, err := d.token(path)
	if err != nil {
		return err
	}
	if t != json.Delim('[') {
		return jsonErr(path, "want an array", nil)
	}
	for i := 0; d.dec.More(); i++ {
		if err := elem(i, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	_, err = d.token(path) // ']'
	return err
}

func (d *jsonParser) str(path string) (string, error) {
	t, err := d.token(path)
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", jsonErr(path, "want a string", nil)
	}
	return s, nil
}

func (d *jsonParser) strings(path string) ([]string, error) {
	out := []string{}
	err := d.array(path, func(_ int, path string) error {
		s, err := d.str(path)
		out = append(out, s)
		return err
	})
	return out, err
}

func (d *jsonParser) role(path string) (Role, error) {
	var r Role
	hasName := false
	err := d.object(path, func(key, kp string) error {
		var err error
		switch key {
		case "name":
			r.Name, err = d.str(kp)
			hasName = true
		case "inherits":
			r.Inherits, err = d.strings(kp)
		case "permissions":
			r.Permissions, err = d.strings(kp)
		case "description":
			_, err = d.str(kp)
		default:
			err = jsonErr(kp, "unknown field", nil)
		}
		return err
	})
	if err == nil && !hasName {
		err = jsonErr(path, `missing "name"`, nil)
	}
	return r, err
}
