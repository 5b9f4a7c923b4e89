//go:build !unix

package tensor

import "errors"

var errNotEmpty = errors.New("directory not empty")
