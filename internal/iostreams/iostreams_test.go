package iostreams

import "testing"

func TestColorAllowed(t *testing.T) {
	cases := []struct {
		name string
		tty  bool
		env  map[string]string
		want bool
	}{
		{"terminal", true, nil, true},
		{"pipe", false, nil, false},
		{"NO_COLOR set", true, map[string]string{"NO_COLOR": "1"}, false},
		{"NO_COLOR empty counts as unset", true, map[string]string{"NO_COLOR": ""}, true},
		{"dumb terminal", true, map[string]string{"TERM": "dumb"}, false},
	}
	for _, c := range cases {
		got := colorAllowed(c.tty, func(k string) string { return c.env[k] })
		if got != c.want {
			t.Errorf("%s: colour %v, want %v", c.name, got, c.want)
		}
	}
}

func TestProgressOnlyOnTerminalAndNotQuiet(t *testing.T) {
	s, _, _, _ := Test()
	s.SetTTY(false, true, true)
	if !s.ShowProgress() {
		t.Fatal("stderr is a terminal: progress expected")
	}
	s.Quiet = true
	if s.ShowProgress() {
		t.Fatal("--quiet must hide progress")
	}
	s.Quiet = false
	s.SetTTY(false, true, false)
	if s.ShowProgress() {
		t.Fatal("progress must not go to a piped stderr")
	}
}
