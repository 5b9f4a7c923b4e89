// Package tensor holds dense tensors as stored on disk and reads and writes them in the
// safetensors format, one file or a Hugging Face style sharded checkpoint.
//
// # Safetensors
//
// The format is specified by Hugging Face (https://github.com/huggingface/safetensors,
// "Format" section of its README): an 8-byte little-endian unsigned header length N, N
// bytes of UTF-8 JSON, then the data section. The JSON object maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]}, offsets in bytes relative to the
// start of the data section, plus an optional "__metadata__" object of string to string.
// Elements are little-endian and row-major.
//
// Open validates a header strictly before any data is read: the header length against the
// file size and a 100 MB cap, known dtypes, non-negative dimensions, each byte range
// against the data section and against dtype size × number of elements, and that the
// ranges tile the data section exactly (no overlap, gap or trailing bytes). Duplicate
// JSON keys, which encoding/json would silently merge, are rejected. Tensors are then
// read one at a time with a single ReadAt, so a model never has to fit in memory.
//
// Encode, WriteFile and Writer produce byte-identical output for the same input: the
// header lists "__metadata__" first and then the tensors sorted by name, the header is
// padded with spaces to a multiple of 8 bytes (so the data section is 8-byte aligned, as
// the reference implementation does), and the data follows in header order.
//
// # Checkpoints
//
// A Checkpoint is a single .safetensors file, a directory holding model.safetensors, or
// a directory holding model.safetensors.index.json and its shards
// (model-00001-of-00003.safetensors, ...), the layout written by Hugging Face
// transformers' save_pretrained: the index is {"metadata": {"total_size": N},
// "weight_map": {tensor name: shard file name}}.
package tensor
