"Test-session settings shared by every test file."
import os

def pytest_configure(config):
    # pytest-xdist runs one process per core; each must then use one thread, or torch's and Numba's thread pools
    # oversubscribe the cores (measured: a training step 7x slower with 2 workers x 2 threads on 2 cores).
    if os.environ.get('PYTEST_XDIST_WORKER'):
        os.environ.setdefault('NUMBA_NUM_THREADS', '1')
        import torch
        torch.set_num_threads(1)
