package policy

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	p := &Policy{
		Version: 1,
		Profile: "agent",
		Filesystem: Filesystem{
			Workspace:        "proj/../app/",
			AllowWrite:       []string{"~/.cache//go-build/", "out", "/var/tmp/./x"},
			DenyRead:         []string{".env", "*.key", "~", "~/.ssh", "secrets/db.txt", "/etc/shadow"},
			AllowRead:        []string{".env.example", "~/.ssh/known_hosts"},
			DenyWrite:        []string{"Makefile"},
			Unprotect:        []string{".vscode"},
			AllowUnixSockets: []string{"~/.docker/run/docker.sock", "/run//user/1000/bus", "rel.sock"},
		},
		Network: Network{AllowDomains: []string{"example.com"}},
	}
	before := p.clone()
	got, err := p.Expand("/home/u", "/work")
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Version: 1,
		Profile: "agent",
		Filesystem: Filesystem{
			Workspace:        "/work/app",
			AllowWrite:       []string{"/home/u/.cache/go-build", "/work/app/out", "/var/tmp/x"},
			DenyRead:         []string{".env", "*.key", "/home/u", "/home/u/.ssh", "/work/app/secrets/db.txt", "/etc/shadow"},
			AllowRead:        []string{".env.example", "/home/u/.ssh/known_hosts"},
			DenyWrite:        []string{"/work/app/Makefile"},
			Unprotect:        []string{".vscode"},
			AllowUnixSockets: []string{"/home/u/.docker/run/docker.sock", "/run/user/1000/bus", "rel.sock"},
		},
		Network: Network{AllowDomains: []string{"example.com"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(p, before) {
		t.Errorf("Expand modified its receiver: got %+v, want %+v", p, before)
	}
	wantError(t, got.Validate(), `filesystem.allow_unix_sockets[2]: "rel.sock" is relative; a unix socket path must be absolute or start with "~/"`)
}

func TestExpandWorkspace(t *testing.T) {
	tests := []struct {
		name, workspace, want string
	}{
		{"unset uses the argument", "", "/cwd"},
		{"home", "~", "/home/u"},
		{"under home", "~/src/app", "/home/u/src/app"},
		{"absolute", "/srv/app/", "/srv/app"},
		{"relative to the argument", "sub", "/cwd/sub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Policy{Filesystem: Filesystem{Workspace: tt.workspace, AllowWrite: []string{"x"}}}
			got, err := p.Expand("/home/u", "/cwd")
			if err != nil {
				t.Fatal(err)
			}
			if got.Filesystem.Workspace != tt.want {
				t.Errorf("got workspace %q, want %q", got.Filesystem.Workspace, tt.want)
			}
			if w := tt.want + "/x"; got.Filesystem.AllowWrite[0] != w {
				t.Errorf("got allow_write %q, want %q (relative to the workspace)", got.Filesystem.AllowWrite[0], w)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	tests := []struct {
		name, home, ws string
		p              Policy
		want           string
	}{
		{"relative home", "home", "/w", Policy{}, `expand policy: home "home" is not an absolute path`},
		{"relative workspace", "/h", "w", Policy{}, `expand policy: workspace "w" is not an absolute path`},
		{"tilde user", "/h", "/w", Policy{Filesystem: Filesystem{DenyWrite: []string{"~bob/x"}}},
			`expand policy: filesystem.deny_write: "~bob/x": only "~" and "~/" are supported for the home directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Expand(tt.home, tt.ws)
			if got := errString(err); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
