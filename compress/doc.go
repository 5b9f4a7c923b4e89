// Package compress defines the Codec interface shared by evomerge's weight-compression
// algorithms, their registry, and the file-level helpers CompressFile and ReadDense.
//
// A compressed model is an ordinary safetensors file (format: Hugging Face safetensors,
// https://github.com/huggingface/safetensors): every tensor the codec left alone is
// stored as it was, every compressed tensor is replaced by the tensors its codec chose
// (packed codes, scales, codebooks), and the "__metadata__" header records
//
//	compress.algorithm  the codec's registry name, e.g. "bitnet"
//	compress.tensors    the comma-separated, sorted names of the compressed tensors
//
// plus the codec's own entries (prefixed with the tensor name). Everything needed to
// decode is in the file, so ReadDense needs no codec options.
//
// The codecs live in subpackages (bitnet: BitNet b1.58 ternary weights,
// arXiv:2402.17764) and register themselves in init. This package cannot import them
// (they import it), so a binary that reads compressed files imports
// github.com/evomerge/evomerge/compress/all, which imports every codec.
package compress
