package doctor

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

var sample = Report{Checks: []Check{
	{Layer: LayerUserNS, Status: StatusAvailable, Detail: "works"},
	{Layer: LayerCgroupV2, Status: StatusDegraded, Detail: "hybrid", Fix: "boot with X"},
	{Layer: LayerLandlock, Status: StatusMissing, Detail: "not built", Fix: "rebuild"},
}}

func TestMissing(t *testing.T) {
	tests := []struct {
		name   string
		layers []string
		want   []string // layer:status
	}{
		{"available only", []string{LayerUserNS}, nil},
		{"degraded and missing", []string{LayerUserNS, LayerCgroupV2, LayerLandlock}, []string{"cgroup-v2:degraded", "landlock:missing"}},
		{"unprobed is missing", []string{LayerSeccomp}, []string{"seccomp:missing"}},
		{"none asked", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range sample.Missing(tt.layers...) {
				got = append(got, c.Layer+":"+string(c.Status))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Missing(%q): got %q, want %q", tt.layers, got, tt.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name  string
		color bool
		want  string
	}{
		{"plain", false, "" +
			"userns     available  works\n" +
			"cgroup-v2  degraded   hybrid\n" +
			"                      fix: boot with X\n" +
			"landlock   missing    not built\n" +
			"                      fix: rebuild\n"},
		{"color", true, "" +
			"userns     \x1b[32mavailable\x1b[0m  works\n" +
			"cgroup-v2  \x1b[33mdegraded \x1b[0m  hybrid\n" +
			"                      fix: boot with X\n" +
			"landlock   \x1b[31mmissing  \x1b[0m  not built\n" +
			"                      fix: rebuild\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			sample.Write(&b, tt.color)
			if b.String() != tt.want {
				t.Errorf("Write:\ngot:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	b, err := sample.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"layer": "cgroup-v2"`) || !strings.Contains(string(b), `"status": "degraded"`) {
		t.Errorf("JSON: got %s, want layer and status fields", b)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, sample) {
		t.Errorf("JSON round trip: got %+v, want %+v", back, sample)
	}
}
