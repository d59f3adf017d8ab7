//go:build !linux

package doctor

import (
	"context"
	"runtime"
)

// Register registers doctor's probe entry points. There are none here.
func Register() {}

// Run reports every layer missing: Airlock's isolation layers are
// Linux-only.
func Run(ctx context.Context) Report {
	var r Report
	for _, l := range Layers {
		r.Checks = append(r.Checks, Check{
			Layer:  l,
			Status: StatusMissing,
			Detail: "unsupported on " + runtime.GOOS,
			Fix:    "run airlock on Linux",
		})
	}
	return r
}
