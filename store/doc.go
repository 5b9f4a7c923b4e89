// Package store keeps evomerge's artifacts (weights, compressed models, benchmark results,
// reports) in a content-addressed store: a folder on the local filesystem ([FS]) or an
// S3-compatible bucket with a verified local read cache per process ([S3]); [Open] picks
// one by spec (a path, or s3://bucket/prefix). The layout and guarantees below are the
// folder's; the S3 store keeps the same blobs/ and keys/ names under its prefix and
// verifies every download against its digest.
//
// An artifact is named by a [Ref]: the SHA-256 digest of its bytes (FIPS 180-4), written
// "sha256:<64 lowercase hex>" as in the OCI image specification's digest grammar, plus its
// size. Workflows pass Refs around; the bytes stay here.
//
// An artifact may also be recorded under a key: the SHA-256 of the canonical JSON of the
// inputs that produced it ([Key]: parent digests, recipe, method version). A retried or
// resumed activity computes the same key, finds its earlier output with [Store.Lookup]
// and skips the work.
//
// # Layout
//
//	<root>/blobs/sha256/<first 2 hex>/<64 hex>   artifact bytes, read-only (0444)
//	<root>/keys/<first 2 hex>/<key>               the Ref JSON recorded under key
//	<root>/tmp/                                   files being built or written
//
// # Guarantees
//
// Every write is a temp file in <root>/tmp, fsynced, then renamed into place and its
// directory fsynced, so a reader sees a whole blob or none, also across a crash. Blobs are
// written once: putting bytes that are already stored is a no-op. Several goroutines and
// several processes may put the same artifact at once; the last rename wins and every
// winner has the same bytes. Reads verify: [FS.Path] and [FS.Get] hash the blob and
// compare it with its digest and size, so a corrupt or truncated file is reported, never
// served; [FS.Lookup] treats a key whose blob is missing or corrupt as absent and removes
// the stale record, and the next put of the same bytes repairs the blob.
package store
