//go:build !unix

package secrets

import (
	"context"
	"errors"
)

// loadCmd is not supported off Unix: there is no /bin/sh to run.
func loadCmd(ctx context.Context, name, command string) ([]byte, error) {
	return nil, errors.New("cmd sources are unsupported on this system")
}
