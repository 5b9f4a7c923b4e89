// Package all links every compression codec into a binary. Import it for its side effect
// wherever compressed models are written or read (compress.New, compress.ReadDense):
//
//	import _ "github.com/evomerge/evomerge/compress/all"
//
// Each codec registers itself with the compress registry in its init function; a codec
// whose package is not linked in is unknown to compress.New.
package all

import (
	_ "github.com/evomerge/evomerge/compress/bitnet"
	_ "github.com/evomerge/evomerge/compress/seedlm"
	_ "github.com/evomerge/evomerge/compress/vptq"
)
