// Package f32 holds the dense float32 kernels: the matrix–vector and small-batch
// matrix products that are the baseline every packed kernel is compared against.
//
// Gemm computes y = W·x for a few inputs at once. A matrix–vector product does one
// multiply–add per weight loaded, so beyond the caches it runs at the speed memory
// delivers the weights (the roofline model: S. Williams, A. Waterman, D. Patterson,
// "Roofline: An Insightful Visual Performance Model for Multicore Architectures",
// CACM 52(4), 2009). The kernels therefore keep the weight stream flowing: several rows
// advance together and share each input vector they load, and each weight vector loaded
// is used for every input of the batch, the register blocking of K. Goto and
// R. van de Geijn, "Anatomy of High-Performance Matrix Multiplication", ACM TOMS 34(3),
// 2008.
package f32
