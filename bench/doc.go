// Package bench holds evomerge's model evaluators: each scores one model file and
// reports accuracy, size on disk, single-example latency and whether inference produced
// finite outputs — the inputs of the quality gates and of Pareto selection.
//
// The built-in "mnist" evaluator runs nn models on the 10,000-image MNIST test set
// (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document
// recognition", Proc. IEEE 86(11)). Accuracy is computed in parallel and is independent of
// the number of goroutines; latency is the median of batch-1 forward passes after a
// warm-up, the statistic least disturbed by other work on the machine.
//
// Binaries that evaluate compressed models must link the codecs in:
//
//	import _ "github.com/evomerge/evomerge/compress/all"
package bench
