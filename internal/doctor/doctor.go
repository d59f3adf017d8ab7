package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is the state of one isolation layer.
type Status string

// Layer states.
const (
	StatusAvailable Status = "available"
	StatusDegraded  Status = "degraded"
	StatusMissing   Status = "missing"
)

// Layer names. They are stable identifiers: the supervisor asks for them by
// name and they appear in the JSON output.
const (
	LayerUserNS        = "userns"
	LayerMountNS       = "mountns"
	LayerPIDNS         = "pidns"
	LayerNetNS         = "netns"
	LayerIPCNS         = "ipcns"
	LayerUTSNS         = "utsns"
	LayerCgroupNS      = "cgroupns"
	LayerSeccomp       = "seccomp"
	LayerNoNewPrivs    = "no_new_privs"
	LayerLandlock      = "landlock"
	LayerCgroupV2      = "cgroup-v2"
	LayerCgroupV1      = "cgroup-v1"
	LayerOverlayUserNS = "overlay-userns"
)

// Layers lists every layer Run reports, in report order.
var Layers = []string{
	LayerUserNS, LayerMountNS, LayerPIDNS, LayerNetNS, LayerIPCNS, LayerUTSNS, LayerCgroupNS,
	LayerOverlayUserNS, LayerSeccomp, LayerNoNewPrivs, LayerLandlock, LayerCgroupV2, LayerCgroupV1,
}

// Check is the outcome for one layer.
type Check struct {
	Layer  string `json:"layer"`
	Status Status `json:"status"`
	// Detail says what was found, or why the layer is not fully available.
	Detail string `json:"detail"`
	// Fix is what would make the layer available; empty when it is.
	Fix string `json:"fix,omitempty"`
}

// Report is the outcome of all probes.
type Report struct {
	Checks []Check `json:"checks"`
}

// Missing returns the checks for the named layers that are not available
// (degraded or missing). A layer the report has no check for is returned as
// missing, so a caller never mistakes "not probed" for "available".
func (r Report) Missing(layers ...string) []Check {
	var out []Check
	for _, l := range layers {
		c, ok := r.find(l)
		if !ok {
			out = append(out, Check{Layer: l, Status: StatusMissing, Detail: "not probed"})
			continue
		}
		if c.Status != StatusAvailable {
			out = append(out, c)
		}
	}
	return out
}

func (r Report) find(layer string) (Check, bool) {
	for _, c := range r.Checks {
		if c.Layer == layer {
			return c, true
		}
	}
	return Check{}, false
}

// ANSI colors for the status column.
const (
	colorGreen  = "\x1b[32m"
	colorYellow = "\x1b[33m"
	colorRed    = "\x1b[31m"
	colorReset  = "\x1b[0m"
)

// Write prints one aligned line per layer (layer, status, detail) and, below
// a layer that is not available, a "fix:" line. color adds ANSI colors to
// the status column.
func (r Report) Write(w io.Writer, color bool) {
	layerW, statusW := 0, len(StatusAvailable)
	for _, c := range r.Checks {
		layerW = max(layerW, len(c.Layer))
		statusW = max(statusW, len(c.Status))
	}
	indent := strings.Repeat(" ", layerW+2+statusW+2)
	for _, c := range r.Checks {
		status := fmt.Sprintf("%-*s", statusW, c.Status)
		if color {
			status = statusColor(c.Status) + status + colorReset
		}
		fmt.Fprintf(w, "%-*s  %s  %s\n", layerW, c.Layer, status, c.Detail)
		if c.Fix != "" && c.Status != StatusAvailable {
			fmt.Fprintf(w, "%sfix: %s\n", indent, c.Fix)
		}
	}
}

func statusColor(s Status) string {
	switch s {
	case StatusAvailable:
		return colorGreen
	case StatusDegraded:
		return colorYellow
	default:
		return colorRed
	}
}

// JSON returns the report as indented JSON.
func (r Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode doctor report: %w", err)
	}
	return b, nil
}
