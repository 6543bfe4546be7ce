// One place that sets how many threads the numerical libraries use.
//
// LibTorch parallelises across OpenMP threads itself and calls the BLAS from inside those
// threads. OpenBLAS built with pthreads (Debian's libopenblas0-pthread) starts its own pool as
// well, and the two pools then fight over the same cores: measured on a 2-core machine, fp32
// ResNet-18 at batch 1 took 23 ms with OpenBLAS's pool and 6.5 ms without it (batch 32: same
// time either way). So the BLAS runs single-threaded and LibTorch owns the parallelism.
#pragma once

namespace hadmc::hal {

struct ThreadSettings {
  int torch_threads = 0;  // intra-op threads LibTorch now uses
  int blas_threads = -1;  // threads the loaded BLAS now uses; -1 if it has no such control
};

// Sets LibTorch's intra-op threads to `threads` (<= 0 means one per CPU this process may run on)
// and the BLAS's own pool to one thread. Safe to call more than once.
ThreadSettings ConfigureThreads(int threads);

// LibTorch ops the calling thread runs use one thread (no OpenMP team of its own); the other
// threads keep their teams. For helper threads next to the training or serving threads, like a
// data loader's prefetch worker.
void UseOneTorchThreadHere();

// Makes the calling thread a background worker: LibTorch ops it runs use one thread (no
// OpenMP team of its own), and it runs at `nice` (per thread on Linux; threads it starts
// inherit it). For work that must not compete with serving threads, like the edge daemon's
// sync and model warm-up. Returns false if a setting could not be applied (it is logged).
bool MakeThisThreadBackground(int nice);

// Threads of the loaded BLAS's own pool, or -1 if it has no such control (reference BLAS, none).
int BlasThreads();

// CPUs this process may run on (sched_getaffinity; falls back to the online count).
int AvailableCpus();

}  // namespace hadmc::hal
