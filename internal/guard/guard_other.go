//go:build !linux

package guard

import (
	"context"
	"errors"
)

// Serve is unsupported off Linux; it never lets anything through.
func Serve(ctx context.Context, listener int, cfg Config) error {
	return errors.New("guard: unsupported on this operating system")
}
