package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "frequency_lists.coffee")
	src := "# generated\nfrequency_lists = \n" +
		`  passwords: "123456,Password,pic\'s,password,＃hash,ｐａｓｓ1234".split(",")` + "\n" +
		`  english_wikipedia: "the,of".split(",")` + "\n"
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "blocklist.txt")
	if err := run(in, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	head, body, ok := strings.Cut(string(b), "\n\n")
	if !ok || !strings.Contains(head, "MIT License") {
		t.Fatalf("header missing or without licence:\n%s", head)
	}
	got := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	// NFKC turns the fullwidth '#' into '#', which is dropped so entries
	// never look like header lines; duplicates after folding collapse.
	want := []string{"123456", "pass1234", "password", "pic's"}
	if !slices.Equal(got, want) {
		t.Fatalf("entries %q, want %q", got, want)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "f.coffee")
	for _, src := range []string{"no list here\n", `  passwords: "a,b"` + "\n"} {
		if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := run(in, filepath.Join(dir, "out.txt")); err == nil {
			t.Errorf("run accepted %q", src)
		}
	}
	if err := run("", "x"); err == nil {
		t.Error("run accepted an empty -in")
	}
}
