"""iamsim: a local IAM endpoint (moto plus what moto lacks) for iamsweep's tests and benchmarks."""
