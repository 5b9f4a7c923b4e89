package seedlm

// useAsm can be cleared by tests to run the Go kernels where assembly exists.
var useAsm = true
